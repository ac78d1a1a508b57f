import os
import signal
import sys

from celery import Celery
from celery.signals import beat_init, celeryd_init, worker_init, worker_process_init

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


@worker_init.connect
def _warm_up(**kwargs: object) -> None:
    # Load Presidio and MiniLM once, in the main process before the pool forks: every pool child, and each
    # replacement of a child that died, inherits them and is ready at once. Loaded in the child instead (about 7 s)
    # it outlived Celery's worker_proc_alive_timeout, and each replacement was killed in turn, forever.
    if os.environ.get("CLEANROOM_WARMUP") == "1":
        from cleanroom.warmup import warm_up_ingestion

        warm_up_ingestion()


# Sent by `manage.py serve` to a pool child whose batch did not finish within the stop grace period.
RELEASE_SIGNAL = signal.SIGUSR2


@worker_process_init.connect
def _release_on_signal(**kwargs: object) -> None:
    # KeyboardInterrupt, like Ctrl-C in `manage.py ingest`: the pipeline hands its claimed documents back (queued)
    # on any BaseException, the child exits, and acks_late + reject_on_worker_lost put the task message back.
    # Not on SIGTERM: billiard sends that on a hard time limit, where the sweep's attempt count must decide.
    def release(signum: int, frame: object) -> None:
        raise KeyboardInterrupt("released: the worker is stopping")

    signal.signal(RELEASE_SIGNAL, release)


def worker_command(
    *,
    loglevel: str = "INFO",
    hostname: str = "",
    pool: str = "",
    concurrency: int = 0,
    beat: bool = False,
    beat_schedule: str = "",
    alone: bool = False,
    queues: list[str] | None = None,
) -> list[str]:
    """The command line of a worker of this app, in this Python: `serve` starts one, and so do the benchmarks and the
    integration tests. `alone`: the worker neither looks for nor talks to other workers (gossip, mingle, heartbeat).
    `queues`: only these (default: every queue of CELERY_TASK_QUEUES, the ingestion and the maintenance queue)."""
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
    if queues:
        command += ["--queues", ",".join(queues)]
    if alone:
        command += ["--without-gossip", "--without-mingle", "--without-heartbeat"]
    return command
