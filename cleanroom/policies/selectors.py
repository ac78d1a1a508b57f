from __future__ import annotations

from dataclasses import dataclass

from cleanroom.pii.entities import DEFAULT_REDACT_ENTITIES
from cleanroom.pii.policy import (
    DEFAULT_THRESHOLD,
    REDACT,
    EntityTreatment,
    PiiPolicy,
    Recognizer,
    normalise_term,
)
from cleanroom.policies.models import AllowTerm, CustomRecognizer, DenyTerm, EntityRule, ResidencyRule
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


def pii_policy(*, tenant: Tenant) -> PiiPolicy:
    """The tenant's PII policy: the residency rule's entity list (redacted at the default threshold), overridden
    and extended by its entity rules, plus its allow-list and custom recognizers."""
    base = tenant_policy(tenant=tenant)
    treatments = {name: EntityTreatment(REDACT, DEFAULT_THRESHOLD) for name in base.redact_entities}
    for rule in EntityRule.objects.filter(tenant=tenant):
        threshold = rule.threshold if rule.threshold is not None else DEFAULT_THRESHOLD
        treatments[rule.entity_type] = EntityTreatment(rule.action, threshold, rule.uncertain)
    return PiiPolicy(
        tenant_id=tenant.pk,
        rule_id=base.rule_id,
        treatments=treatments,
        allow_terms=frozenset(
            normalise_term(t) for t in AllowTerm.objects.filter(tenant=tenant).values_list("term", flat=True)
        ),
        recognizers=tuple(
            Recognizer(r.label, r.pattern, r.action, r.ignore_case)
            for r in CustomRecognizer.objects.filter(tenant=tenant).order_by("label")
        ),
        deny_terms=tuple(
            (normalise_term(term), entity_type)
            for term, entity_type in DenyTerm.objects.filter(tenant=tenant)
            .order_by("term", "entity_type")
            .values_list("term", "entity_type")
        ),
    )
