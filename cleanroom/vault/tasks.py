from __future__ import annotations

import logging

from celery import shared_task

logger = logging.getLogger(__name__)


@shared_task(name="vault.retention_purge", ignore_result=True)
def retention_purge_task() -> None:
    from cleanroom.vault.services import retention_purge

    purged = retention_purge()
    if purged:
        logger.info("retention purged %d document(s)", len(purged))


@shared_task(name="vault.leakscan_all", ignore_result=True)
def leakscan_all_task() -> None:
    from cleanroom.tenants.models import Tenant
    from cleanroom.vault.services import leakscan_run

    # Every tenant: their documents may sit in different region stores, so no cross-store subquery.
    for tenant in Tenant.objects.all():
        leaks = leakscan_run(tenant=tenant)
        if leaks:  # the audit entry holds the details; the log only says where to look
            logger.warning(
                "leak scan of tenant %s found %d possible leak(s); see the audit trail", tenant.slug, len(leaks)
            )
