from typing import Any

from django.apps import AppConfig
from django.core.management import call_command
from django.db.models.signals import post_migrate


def _cache_table(sender: AppConfig, using: str, **kwargs: Any) -> None:
    # Without Redis the shared cache is a database table (settings.CACHES); every `migrate` makes sure it exists.
    # Django signals once per app with models (this one has none): once, for the tenants app.
    if sender.label == "tenants":
        call_command("createcachetable", database=using, verbosity=0)


class CleanroomConfig(AppConfig):
    name = "cleanroom"
    verbose_name = "Clean room"

    def ready(self) -> None:
        from cleanroom import rls
        from cleanroom.access import lockout  # noqa: F401 - connects the lockout audit to axes's signal

        rls.connect_signals()

        post_migrate.connect(_cache_table, dispatch_uid="cleanroom.cache_table")
