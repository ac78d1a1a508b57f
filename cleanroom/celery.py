import os
import sys

from celery import Celery
from celery.signals import beat_init, celeryd_init, worker_process_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cleanroom.settings")

app = Celery("cleanroom")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@celeryd_init.connect
@beat_init.connect
def _bootstrap(**kwargs: object) -> None:
    # A worker (or a standalone beat) is an entry point like manage.py. celeryd_init comes before the pool starts and
    # before any task runs, so the key files and the embedded PostgreSQL are there before Django connects; the
    # pool's children and an embedded beat inherit the result. Not at import: Django imports this module too.
    from cleanroom.bootstrap import bootstrap

    bootstrap()


@worker_process_init.connect
def _warm_up(**kwargs: object) -> None:
    # Load Presidio and MiniLM when a worker process starts, not when the first document arrives.
    if os.environ.get("CLEANROOM_WARMUP") == "1":
        from cleanroom.warmup import warm_up_ingestion

        warm_up_ingestion()


def worker_command(
    *,
    loglevel: str = "INFO",
    hostname: str = "",
    pool: str = "",
    concurrency: int = 0,
    beat: bool = False,
    beat_schedule: str = "",
    alone: bool = False,
) -> list[str]:
    """The command line of a worker of this app, in this Python: `serve` starts one, and so do the benchmarks and the
    integration tests. `alone`: the worker neither looks for nor talks to other workers (gossip, mingle, heartbeat)."""
    command = [sys.executable, "-m", "celery", "-A", "cleanroom", "worker", "--loglevel", loglevel]
    if pool:
        command += ["--pool", pool]
    if concurrency:
        command += ["--concurrency", str(concurrency)]
    if hostname:
        command += ["--hostname", hostname]
    if beat:
        command.append("--beat")
        if beat_schedule:
            command += ["--schedule", beat_schedule]
    if alone:
        command += ["--without-gossip", "--without-mingle", "--without-heartbeat"]
    return command
