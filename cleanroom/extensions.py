"""Extension points through which a higher layer's stored text joins the core's data-protection sweeps.

Erasure (ingestion/erasure.py) and the leak scan (ingestion/leakscan.py) may not import retrieval, yet retrieval
stores (redacted) text too: conversations, feedback comments. Retrieval registers here at start-up (its AppConfig),
the sweeps call whatever is registered. The hooks get and return plain data, never the identifier itself.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from cleanroom.pii.policy import TOKEN_HEX
from cleanroom.tenants.models import Tenant


@dataclass(frozen=True)
class ErasureRequest:
    """What one erasure reaches, as ingestion/erasure.py computed it for the documents."""

    tenant: Tenant
    mode: str  # redact | remove
    dry_run: bool
    db_pattern: str  # a PostgreSQL regular expression for the identifier in any spelling
    pattern: re.Pattern[str]  # the same, for Python
    tokens: dict[str, str]  # pseudonym -> the plain placeholder that replaces it
    replacement: str  # what a verbatim mention becomes
    # The identifier's keyed hashes: a pseudonym computed for a question (never written to the vault, so not in
    # `tokens`) ends with the first hex digits of one of them.
    hashes: frozenset[str] = frozenset()

    @property
    def token_pattern(self) -> re.Pattern[str] | None:
        digests = sorted({h[:TOKEN_HEX] for h in self.hashes})
        return re.compile(rf"<([A-Z][A-Z0-9_]*)_(?:{'|'.join(digests)})>") if digests else None

    def rewrite(self, text: str) -> str:
        for token, placeholder in self.tokens.items():
            text = text.replace(token, placeholder)
        tokens = self.token_pattern
        if tokens is not None:
            text = tokens.sub(r"<\1>", text)
        return self.pattern.sub(self.replacement, text)


# Returns counts (ids at most) for the receipt: {"conversation_messages_rewritten": 3}.
ErasureHook = Callable[[ErasureRequest], dict[str, Any]]
# Yields (source, row id, text) for every stored text of the tenant the leak scan should re-read.
LeakscanSource = Callable[[Tenant], Iterable[tuple[str, str, str]]]

_erasure_hooks: dict[str, ErasureHook] = {}
_leakscan_sources: dict[str, LeakscanSource] = {}


def erasure_hook_register(name: str, hook: ErasureHook) -> None:
    """Idempotent by name: an AppConfig.ready() that runs twice registers once."""
    _erasure_hooks[name] = hook


def leakscan_source_register(name: str, source: LeakscanSource) -> None:
    _leakscan_sources[name] = source


def erasure_hooks_run(request: ErasureRequest) -> dict[str, dict[str, Any]]:
    """Every registered hook, inside the erasure's transaction and tenant scope: their counts by hook name."""
    return {name: hook(request) for name, hook in sorted(_erasure_hooks.items())}


def leakscan_sources(tenant: Tenant) -> Iterable[tuple[str, str, str]]:
    for _, source in sorted(_leakscan_sources.items()):
        yield from source(tenant)
