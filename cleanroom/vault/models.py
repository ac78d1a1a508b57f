from __future__ import annotations

from django.db import models

from cleanroom.tenants.models import Tenant


class VaultEntry(models.Model):
    """The value behind one pseudonym, encrypted with the tenant's vault key. Revealing it takes the
    `vault.reveal_pseudonym` permission and is audited."""

    # db_constraint=False: vault rows live in the tenant's region store, the tenant in the control plane.
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+", db_constraint=False)
    entity_type = models.CharField(max_length=40)
    value_hash = models.CharField(max_length=64, help_text="Keyed hash of the normalised value (never the value).")
    token = models.CharField(max_length=64, db_index=True)
    ciphertext = models.TextField(editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "vault entries"
        constraints = [models.UniqueConstraint(fields=["tenant", "value_hash"], name="vaultentry_unique_hash")]
        permissions = [("reveal_pseudonym", "Can reveal the value behind a pseudonym (audited)")]

    def __str__(self) -> str:
        return self.token


class ErasureReceipt(models.Model):
    """The record of one right-to-erasure request: what was removed and the verification scan. Never the
    identifier itself: only a fingerprint (a keyed hash prefix) to match a repeated request."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+", db_constraint=False)
    identifier_fingerprint = models.CharField(max_length=16)
    mode = models.CharField(max_length=16)
    requested_by = models.CharField(max_length=150)
    created_at = models.DateTimeField(auto_now_add=True)
    verified = models.BooleanField(help_text="The verification scan found the identifier nowhere.")
    receipt = models.JSONField()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Erasure {self.pk} ({self.tenant_id}, {self.created_at:%Y-%m-%d %H:%M})"
