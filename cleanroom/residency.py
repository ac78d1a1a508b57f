"""Checks of a tenant's residency rule against where this deployment stores and processes data."""

from __future__ import annotations

from cleanroom.errors import ResidencyViolation
from cleanroom.policies.selectors import TenantPolicy
from cleanroom.routing import region_stores, storage_region


def _rule_name(policy: TenantPolicy) -> str:
    return f"residency rule #{policy.rule_id}" if policy.rule_id else "the default rule (home region only)"


def check_storage_allowed(policy: TenantPolicy) -> str:
    """The region whose store will hold the tenant's data; 451 when no store here is in an allowed region."""
    region = storage_region(policy.storage_regions)
    if region is None:
        stores = sorted(region_stores())
        raise ResidencyViolation(
            "storage_region_not_allowed",
            f"This service stores data in region{'s' if len(stores) > 1 else ''} "
            f"{', '.join(repr(s) for s in stores)}, but {_rule_name(policy)} allows storage only in "
            f"{', '.join(policy.storage_regions) or 'no region'}; nothing was stored.",
        )
    return region


def check_processing_allowed(policy: TenantPolicy, *, backend_region: str, what: str) -> None:
    if backend_region not in policy.processing_regions:
        raise ResidencyViolation(
            "processing_region_not_allowed",
            f"The {what} runs in region '{backend_region}', but {_rule_name(policy)} allows processing only in "
            f"{', '.join(policy.processing_regions) or 'no region'}.",
        )
