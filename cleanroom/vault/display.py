"""Pseudonyms shown as the real values, at display time, to a person allowed to see them.

Answers, citations and chunks are produced, stored, audited and indexed with pseudonyms (`<PERSON_7f3a9c12>`); the
model never sees a value. Only the text about to be shown is resolved, per response, for a user who asked for it
(an explicit `reveal`) and who passes `reveal_permitted`. Each vault entry is decrypted at most once per response,
and the response leaves one audit entry: the entries' ids, types and where they were shown, never a value or token.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Collection
from typing import Any

from django.contrib.auth.models import AnonymousUser, User

from cleanroom.audit.services import audit_record
from cleanroom.errors import ServiceError
from cleanroom.keys import tenant_cipher
from cleanroom.pii.policy import TOKEN_HEX
from cleanroom.routing import tenant_scope
from cleanroom.tenants.models import Membership, Scope, Tenant
from cleanroom.vault.models import VaultEntry

PSEUDONYM_RE = re.compile(rf"<[A-Z][A-Z0-9_]*_[0-9a-f]{{{TOKEN_HEX}}}>")
# The start of a pseudonym that a stream has not finished writing: held back until it is complete (or is not one).
_PARTIAL_RE = re.compile(r"<[A-Za-z0-9_]{0,62}\Z")

REVEAL_PERMISSION = "vault.reveal_pseudonym"
WHERE = ("answer", "citation", "question", "document")


def reveal_permitted(
    *, tenant: Tenant, user: User | AnonymousUser | None, token_scopes: Collection[str] | None
) -> bool:
    """Who may see real values: an active user with the (global) `vault.reveal_pseudonym` permission who is a
    member of this tenant, and, for a request made with an API token, a token that carries the `reveal` scope
    (never given by default). `token_scopes` None: a signed-in web session, limited by the user alone."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    if not user.has_perm(REVEAL_PERMISSION):
        return False
    if token_scopes is not None and Scope.REVEAL not in token_scopes:
        return False
    return Membership.objects.filter(user_id=user.pk, tenant=tenant).exists()


class Revealer:
    """One response's resolution of pseudonyms: values decrypted once each, one audit entry at `finish`."""

    def __init__(self, *, tenant: Tenant, actor: User) -> None:
        self.tenant = tenant
        self.actor = actor
        self._values: dict[str, tuple[int, str, str] | None] = {}  # token -> (entry id, type, value), None: unknown
        self._shown: dict[str, set[int]] = defaultdict(set)  # where -> entry ids
        self._finished = False

    def _load(self, tokens: set[str]) -> None:
        missing = tokens - self._values.keys()
        if not missing:
            return
        # Tenant-scoped twice over (the filter and row-level security): another tenant's token resolves to nothing.
        with tenant_scope(self.tenant):
            rows = list(
                VaultEntry.objects.filter(tenant=self.tenant, token__in=missing).values_list(
                    "token", "pk", "entity_type", "ciphertext"
                )
            )
        cipher = tenant_cipher(self.tenant.pk)
        for token in missing:
            self._values[token] = None
        for token, pk, entity_type, ciphertext in rows:
            self._values[token] = (pk, entity_type, cipher.decrypt(ciphertext.encode()).decode())

    def text(self, text: str, *, where: str) -> str:
        """`text` with every pseudonym of this tenant's vault replaced by its value."""
        assert where in WHERE
        tokens = set(PSEUDONYM_RE.findall(text or ""))
        if not tokens:
            return text
        self._load(tokens)

        def value(match: re.Match[str]) -> str:
            found = self._values.get(match.group(0))
            if found is None:
                return match.group(0)
            self._shown[where].add(found[0])
            return found[2]

        return PSEUDONYM_RE.sub(value, text)

    def citations(self, citations: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Citation dicts (`title`, `snippet`) with values in place; the originals are left as they are."""
        return [
            {
                **c,
                "title": self.text(c.get("title", ""), where="citation"),
                "snippet": self.text(c.get("snippet", ""), where="citation"),
            }
            for c in citations
        ]

    def stream(self) -> StreamRevealer:
        return StreamRevealer(self)

    @property
    def revealed(self) -> int:
        return len(set().union(*self._shown.values())) if self._shown else 0

    def finish(self, **context: Any) -> None:
        """Write the response's one audit entry (if anything was revealed): entry ids, types and counts per place,
        plus `context` (ids such as the answer message's). Idempotent."""
        if self._finished:
            return
        self._finished = True
        ids = sorted(set().union(*self._shown.values())) if self._shown else []
        if not ids:
            return
        types = Counter(v[1] for v in self._values.values() if v is not None and v[0] in ids)
        audit_record(
            tenant=self.tenant,
            actor=self.actor,
            action="vault.revealed_in_answer",
            details={
                "entry_ids": ids,
                "count": len(ids),
                "entity_types": dict(sorted(types.items())),
                "where": {where: len(shown) for where, shown in sorted(self._shown.items())},
                **context,
            },
        )


class StreamRevealer:
    """Resolves a stream of answer text piece by piece: a pseudonym split across pieces is held back until its
    closing `>` arrives, so only complete tokens are resolved and none is shown half-replaced."""

    def __init__(self, revealer: Revealer) -> None:
        self._revealer = revealer
        self._pending = ""

    def feed(self, delta: str) -> str:
        self._pending += delta
        partial = _PARTIAL_RE.search(self._pending)
        cut = partial.start() if partial else len(self._pending)
        ready, self._pending = self._pending[:cut], self._pending[cut:]
        return self._revealer.text(ready, where="answer") if ready else ""

    def flush(self) -> str:
        rest, self._pending = self._pending, ""
        return self._revealer.text(rest, where="answer") if rest else ""


def vault_display_start(
    *,
    tenant: Tenant,
    user: User | AnonymousUser | None,
    token_scopes: Collection[str] | None,
    where: str,
) -> Revealer:
    """A Revealer for one response, or 403 `reveal_not_permitted` (audited, as `vault.reveal_refused`) for a user
    who asked to see values and may not."""
    if not reveal_permitted(tenant=tenant, user=user, token_scopes=token_scopes):
        audit_record(
            tenant=tenant,
            actor=user,
            action="vault.reveal_refused",
            details={"where": where, "api_token": token_scopes is not None},
        )
        raise ServiceError(
            "reveal_not_permitted",
            "Showing the real values behind pseudonyms needs the reveal permission, membership of this tenant and, "
            "for an API token, its reveal scope.",
            status_code=403,
        )
    assert user is not None and isinstance(user, User)
    return Revealer(tenant=tenant, actor=user)


def vault_display(
    *,
    tenant: Tenant,
    user: User | AnonymousUser | None,
    texts: list[str],
    where: str,
    token_scopes: Collection[str] | None = None,
    **context: Any,
) -> list[str]:
    """The simple case: resolve `texts` for one response and audit it once. A user who may not reveal gets the
    texts unchanged (the stable tokens); a caller that wants a refusal to be an error uses vault_display_start."""
    if not reveal_permitted(tenant=tenant, user=user, token_scopes=token_scopes):
        return list(texts)
    assert user is not None and isinstance(user, User)
    revealer = Revealer(tenant=tenant, actor=user)
    resolved = [revealer.text(text, where=where) for text in texts]
    revealer.finish(**context)
    return resolved
