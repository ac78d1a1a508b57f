from __future__ import annotations

from dataclasses import dataclass

from cleanroom.pii.entities import DEFAULT_REDACT_ENTITIES
from cleanroom.policies.models import ResidencyRule
from cleanroom.tenants.models import Tenant


@dataclass(frozen=True)
class TenantPolicy:
    rule_id: int | None
    storage_regions: tuple[str, ...]
    processing_regions: tuple[str, ...]
    redact_entities: frozenset[str]


def tenant_policy(*, tenant: Tenant) -> TenantPolicy:
    """The rule in force for `tenant`: its ResidencyRule, or the defaults (home region only, default entities)."""
    rule = ResidencyRule.objects.filter(tenant=tenant).first()
    if rule is None:
        return TenantPolicy(
            rule_id=None,
            storage_regions=(tenant.home_region,),
            processing_regions=(tenant.home_region,),
            redact_entities=frozenset(DEFAULT_REDACT_ENTITIES),
        )
    return TenantPolicy(
        rule_id=rule.pk,
        storage_regions=tuple(rule.allowed_storage_regions()),
        processing_regions=tuple(rule.allowed_processing_regions()),
        redact_entities=frozenset(rule.redact_entities),
    )
