from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.db import models

from cleanroom.pii.entities import DEFAULT_REDACT_ENTITIES, entity_choices
from cleanroom.tenants.models import Tenant, region_choices


def default_redact_entities() -> list[str]:
    return list(DEFAULT_REDACT_ENTITIES)


class ResidencyRule(models.Model):
    """Where a tenant's data may be stored and processed, and which personal data is removed before indexing."""

    tenant = models.OneToOneField(Tenant, on_delete=models.CASCADE, related_name="residency_rule")
    storage_regions = ArrayField(
        models.CharField(max_length=32, choices=region_choices),
        default=list,
        blank=True,
        help_text="Regions whose stores may hold this tenant's documents, chunks and vectors. "
        "Empty: only the tenant's home region.",
    )
    processing_regions = ArrayField(
        models.CharField(max_length=32, choices=region_choices),
        default=list,
        blank=True,
        help_text="Regions where models may process this tenant's text (embedding, answering). "
        "Empty: only the tenant's home region.",
    )
    redact_entities = ArrayField(
        models.CharField(max_length=40, choices=entity_choices),
        default=default_redact_entities,
        blank=True,
        help_text="Personal-data types replaced by a placeholder such as <PERSON> before anything is indexed.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "residency rule"

    def __str__(self) -> str:
        return f"Residency rule for {self.tenant.slug}"

    def allowed_storage_regions(self) -> list[str]:
        return self.storage_regions or [self.tenant.home_region]

    def allowed_processing_regions(self) -> list[str]:
        return self.processing_regions or [self.tenant.home_region]
