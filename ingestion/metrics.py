"""/metrics in the Prometheus text format: documents by status (held ones included) and review items waiting, per
region store. Counts only: no tenant's titles, no values. Scrapers authenticate with CLEANROOM_METRICS_TOKEN as a
bearer token; without one set, only loopback clients and staff sessions may read it."""

from __future__ import annotations

import hmac
from collections.abc import Iterator

from django.conf import settings
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from cleanroom import rls
from cleanroom.regions import region_stores
from ingestion.models import Document, ReviewItem


class _IngestionCollector(Collector):
    def collect(self) -> Iterator[GaugeMetricFamily]:
        documents = GaugeMetricFamily("cleanroom_documents", "Documents by status.", labels=["region", "status"])
        pending = GaugeMetricFamily(
            "cleanroom_review_items_pending", "Values in held documents waiting for a reviewer.", labels=["region"]
        )
        # Counts over every tenant: system scope (a request otherwise sees no tenant's rows).
        with rls.system_scope():
            yield from self._families(documents, pending)

    def _families(self, documents: GaugeMetricFamily, pending: GaugeMetricFamily) -> Iterator[GaugeMetricFamily]:
        for region, alias in sorted(region_stores().items()):
            counts = dict(
                Document.objects.using(alias).values_list("status").annotate(n=Count("id")).order_by("status")
            )
            for status in Document.Status.values:
                documents.add_metric([region, status], counts.get(status, 0))
            waiting = ReviewItem.objects.using(alias).filter(
                decision=ReviewItem.Decision.PENDING, document__status=Document.Status.HELD
            )
            pending.add_metric([region], waiting.count())
        yield documents
        yield pending


def _allowed(request: HttpRequest) -> bool:
    token = getattr(settings, "METRICS_TOKEN", "")
    if token:
        given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        return hmac.compare_digest(given.encode(), token.encode())
    if request.user.is_authenticated and request.user.is_staff:
        return True
    return request.META.get("REMOTE_ADDR") in ("127.0.0.1", "::1")


@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    if not _allowed(request):
        return HttpResponse("Metrics need the CLEANROOM_METRICS_TOKEN bearer token.\n", status=403)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_IngestionCollector())
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
