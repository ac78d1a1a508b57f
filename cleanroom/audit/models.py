from __future__ import annotations

from django.conf import settings
from django.db import models

from cleanroom.tenants.models import Tenant


class AuditEvent(models.Model):
    """One entry of the append-only, hash-chained audit trail.

    Details hold ids, counts, versions and redacted text only: never a personal value.
    """

    tenant = models.ForeignKey(Tenant, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    tenant_slug = models.CharField(max_length=63, blank=True)  # kept when the tenant itself is deleted
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    actor_label = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=64, db_index=True)
    target_type = models.CharField(max_length=64, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    details = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField()
    prev_hash = models.CharField(max_length=64)
    entry_hash = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["tenant", "-id"], name="audit_tenant_recent")]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.action} {self.target_type}:{self.target_id}"
