import os

from celery import Celery
from celery.signals import worker_process_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cleanroom.settings")

app = Celery("cleanroom")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_process_init.connect
def _warm_up(**kwargs: object) -> None:
    # Load Presidio and MiniLM when a worker process starts, not when the first document arrives.
    if os.environ.get("CLEANROOM_WARMUP") == "1":
        from cleanroom.warmup import warm_up_ingestion

        warm_up_ingestion()
