"""Residency-routed storage: each tenant's documents, chunks, vectors and vault rows live in the store of a region
its residency rule allows; the control plane (tenants, users, policies, audit) stays in `default`.

Stores come from settings.CLEANROOM_REGIONS ({"in": "postgres://...", "eu": "embedded:/srv/eu/pgdata"}); each
becomes the database alias `region_<name>`, or is `default` itself when its value is "default". Nothing set: one
region named CLEANROOM_REGION in the default database, so single-region deployments route nothing.

A request or task enters its tenant's scope once (`tenant_scope(tenant)`, or `region_enter` where a context
manager does not fit); the router sends region models there, falling back to the tenant of the instance at hand.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from django.db import models
from django.http import HttpRequest, HttpResponse

from cleanroom import rls
from cleanroom.policies.selectors import tenant_policy
from cleanroom.regions import DEFAULT_ALIAS, region_aliases, region_stores, storage_region

# Apps whose rows hold (redacted) tenant content, or statistics of it, and therefore live in a region store.
REGION_APPS = frozenset({"ingestion", "retrieval", "vault"})
_FK_TARGET_APPS = frozenset({"tenants", "auth", "contenttypes"})

_region: contextvars.ContextVar[str | None] = contextvars.ContextVar("cleanroom_region", default=None)


def tenant_region(tenant: Any) -> str | None:
    return storage_region(tenant_policy(tenant=tenant).storage_regions)


def alias_for_region(region: str | None) -> str:
    return region_stores().get(region or "", DEFAULT_ALIAS)


def tenant_alias(tenant: Any) -> str:
    return alias_for_region(tenant_region(tenant))


def region_enter(tenant: Any) -> None:
    """Route this request's or task's region models to `tenant`'s store, and let the database show it only
    `tenant`'s rows (cleanroom/rls.py), until the scope is reset (RegionScopeMiddleware)."""
    rls.tenant_enter(tenant)  # first: the residency rule below is one of the tenant's rows
    _region.set(tenant_region(tenant))


@contextmanager
def tenant_scope(tenant: Any) -> Iterator[str]:
    with rls.tenant_scope(tenant):
        token = _region.set(tenant_region(tenant))
        try:
            yield alias_for_region(_region.get())
        finally:
            _region.reset(token)


@contextmanager
def region_scope(region: str | None) -> Iterator[str]:
    """Enter one region's store by name, for work that walks every store and every tenant in it (the sweep,
    periodic scans): the database shows every tenant's rows (system scope)."""
    with rls.system_scope():
        token = _region.set(region)
        try:
            yield alias_for_region(region)
        finally:
            _region.reset(token)


def current_alias() -> str:
    return alias_for_region(_region.get())


def _is_region_model(model: type[models.Model]) -> bool:
    return model._meta.app_label in REGION_APPS


class RegionRouter:
    def _route(self, model: type[models.Model], **hints: Any) -> str | None:
        if not _is_region_model(model):
            return DEFAULT_ALIAS
        if _region.get() is not None:
            return current_alias()
        instance = hints.get("instance")
        if instance is not None and instance._state.db:
            return instance._state.db
        tenant_id = getattr(instance, "tenant_id", None)
        if tenant_id is not None:
            from cleanroom.tenants.models import Tenant

            tenant = Tenant.objects.filter(pk=tenant_id).first()
            if tenant is not None:
                return tenant_alias(tenant)
        return DEFAULT_ALIAS

    def db_for_read(self, model: type[models.Model], **hints: Any) -> str | None:
        return self._route(model, **hints)

    def db_for_write(self, model: type[models.Model], **hints: Any) -> str | None:
        return self._route(model, **hints)

    def allow_relation(self, obj1: models.Model, obj2: models.Model, **hints: Any) -> bool | None:
        return True  # region rows point at control-plane rows by id (db_constraint=False)

    def allow_migrate(self, db: str, app_label: str, model_name: str | None = None, **hints: Any) -> bool | None:
        if db == DEFAULT_ALIAS:
            return True  # the control plane, and the store of a region configured as "default"
        if db in region_aliases():
            # Tenants and users get empty tables too: ingestion's first migration creates foreign keys to them
            # (dropped by its second); their rows stay in the control plane.
            return app_label in REGION_APPS or app_label in _FK_TARGET_APPS
        return None


class RegionScopeMiddleware:
    """Starts every request outside any tenant's scope; the tenant resolution (API permission, web decorator)
    enters it, and the next request on this thread starts clean again."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = _region.set(None)
        rows = rls.request_start()  # and sees no tenant's rows until its tenant is resolved
        try:
            return self.get_response(request)
        finally:
            rls.scope_reset(rows)
            _region.reset(token)
