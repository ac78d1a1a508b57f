from __future__ import annotations

import hashlib
import secrets

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models


def region_choices() -> list[tuple[str, str]]:
    return [(name, name) for name in settings.KNOWN_REGIONS]


class Tenant(models.Model):
    slug = models.SlugField(max_length=63, unique=True)
    name = models.CharField(max_length=200)
    home_region = models.CharField(
        max_length=32,
        choices=region_choices,
        help_text="The region whose law governs this tenant's data (for example 'in' for DPDP, 'eu' for GDPR).",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.name


class Role(models.TextChoices):
    VIEWER = "viewer", "Viewer (search and ask)"
    EDITOR = "editor", "Editor (also upload and delete documents)"
    REVIEWER = "reviewer", "Reviewer (also decide on documents held for review)"
    ADMIN = "admin", "Admin (also manage the tenant's members and tokens)"


ROLE_RANK = {Role.VIEWER: 0, Role.EDITOR: 1, Role.REVIEWER: 2, Role.ADMIN: 3}


class Membership(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.VIEWER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "tenant"], name="membership_unique_user_tenant")]
        ordering = ["tenant__slug", "user__username"]

    def __str__(self) -> str:
        return f"{self.user} in {self.tenant.slug} ({self.role})"

    def has_role(self, minimum: str) -> bool:
        return ROLE_RANK[Role(self.role)] >= ROLE_RANK[Role(minimum)]


class Scope(models.TextChoices):
    """What an API token may do, on top of its owner's role (a token never does more than its owner may)."""

    READ = "read", "Read (list and read documents and conversations, search)"
    QUERY = "query", "Query (ask questions, converse, rate answers; the OpenAI endpoint)"
    UPLOAD = "upload", "Upload (upload and delete documents)"
    REVIEW = "review", "Review (decide on documents held for review)"
    ADMIN = "admin", "Admin (manage the tenant's members and tokens)"
    # Never in a token by default: an application gets personal data only from a token made to reveal it, and only
    # when its owner holds the vault.reveal_pseudonym permission (cleanroom/vault/display.py).
    REVEAL = "reveal", "Reveal (show the real values behind pseudonyms in answers, with the reveal permission)"


def all_scopes() -> list[str]:
    return list(Scope.values)


def default_scopes() -> list[str]:
    """What a token gets when nobody says: everything but revealing pseudonyms."""
    return [scope for scope in Scope.values if scope != Scope.REVEAL]


def hash_token_key(key: str) -> str:
    # The key is 256 random bits, so a fast hash is enough: there is nothing to brute-force.
    return hashlib.sha256(key.encode()).hexdigest()


class ApiToken(models.Model):
    """A per-user, per-tenant API key. Only its SHA-256 is stored; the key is shown once, at creation."""

    PREFIX = "crk_"

    membership = models.ForeignKey(Membership, on_delete=models.CASCADE, related_name="tokens")
    name = models.CharField(max_length=100, default="api")
    key_prefix = models.CharField(max_length=12, help_text="The first characters of the key, to tell keys apart.")
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True, help_text="The key stops working then; empty: never.")
    revoked_at = models.DateTimeField(null=True, blank=True)
    scopes = ArrayField(
        models.CharField(max_length=16, choices=Scope.choices),
        default=default_scopes,
        help_text="What the key may do, within its owner's role.",
    )

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.key_prefix}… ({self.name})"

    @classmethod
    def generate_key(cls) -> str:
        return cls.PREFIX + secrets.token_urlsafe(32)
