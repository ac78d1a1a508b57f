"""The region stores this deployment has, read from settings alone (no tenant, no policy): which region names have
a store and under which database alias. Below the policies, which check rules against it; cleanroom/routing.py
routes each tenant's rows to one of them."""

from __future__ import annotations

from django.conf import settings

DEFAULT_ALIAS = "default"


def region_stores() -> dict[str, str]:
    """Region name -> database alias, for every region this deployment has a store in."""
    configured: dict[str, str] = getattr(settings, "CLEANROOM_REGIONS", {}) or {}
    if not configured:
        return {settings.CLEANROOM_REGION: DEFAULT_ALIAS}
    return {name: (DEFAULT_ALIAS if url == "default" else f"region_{name}") for name, url in configured.items()}


def region_aliases() -> set[str]:
    return set(region_stores().values())


def storage_region(allowed: tuple[str, ...] | list[str]) -> str | None:
    """The first allowed region (in the rule's order) that has a store here, or None."""
    stores = region_stores()
    return next((region for region in allowed if region in stores), None)
