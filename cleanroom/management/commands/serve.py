from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from cleanroom.celery import RELEASE_SIGNAL, worker_command
from cleanroom.tenants.models import ApiToken, Role
from cleanroom.tenants.services import tenant_bootstrap
from ingestion.sweep import documents_resend_queued

DEMO_TENANT = "demo"
DEMO_USER = "admin"


class Command(BaseCommand):
    help = (
        "Run the whole service: migrate, then a Celery worker and the web server (gunicorn) on one machine, "
        "stopping both on Ctrl-C. With --demo, also make sure a demo tenant and admin exist and print how to log in."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default=os.environ.get("CLEANROOM_HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("CLEANROOM_PORT", "8000")))
        parser.add_argument(
            "--threads",
            type=int,
            default=int(os.environ.get("CLEANROOM_WEB_THREADS", "16")),
            help="Web server threads (a streamed answer holds one while it is written: keep well above the answers "
            "at once, or searches wait for a thread)",
        )
        parser.add_argument("--demo", action="store_true", help="Create (or reuse) the demo tenant and admin user")

    def handle(self, *args: Any, **options: Any) -> None:
        call_command("migrate", interactive=False, verbosity=0)
        call_command("migrate_regions", verbosity=0)  # other region stores of CLEANROOM_REGIONS, if any
        if options["demo"]:
            self._demo(options["host"], options["port"])

        env = {**os.environ, "CLEANROOM_WARMUP": os.environ.get("CLEANROOM_WARMUP", "1")}
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            env.setdefault("C_FORCE_ROOT", "1")  # Celery refuses to run as root without it
        # Documents a previous run released on stopping (or accepted while the broker was down) get their task.
        resent = documents_resend_queued()
        if resent:
            self.stdout.write(f"Re-sent {resent} queued document(s) to the workers")
        workers = {
            # Ingestion: prefork, so that a child that dies is replaced; the models are loaded before forking.
            "worker": worker_command(
                concurrency=int(os.environ.get("CLEANROOM_WORKER_CONCURRENCY", "1")),
                hostname="cleanroom@%h",
                queues=[settings.CELERY_TASK_DEFAULT_QUEUE],
            ),
            # Scheduled work (CELERY_BEAT_SCHEDULE: stuck-document sweep, retention purges, leak scans) on its own
            # queue and process, so that it runs while a long batch holds the ingestion worker.
            "maintenance": worker_command(
                pool="solo",
                hostname="maintenance@%h",
                beat=True,
                beat_schedule=settings.CELERY_BEAT_SCHEDULE_FILENAME,
                queues=[settings.MAINTENANCE_QUEUE],
            ),
        }
        web_command = [
            sys.executable,
            "-m",
            "gunicorn",
            "cleanroom.wsgi:application",
            "--config",
            "python:cleanroom.gunicorn_conf",
            "--bind",
            f"{options['host']}:{options['port']}",
            "--threads",
            str(options["threads"]),
        ]
        maintenance_env = {**env, "CLEANROOM_WARMUP": "0"}  # the leak scan loads Presidio when it first runs
        children: dict[str, subprocess.Popen] = {
            "worker": _start_worker(workers["worker"], env),
            "maintenance": _start_worker(workers["maintenance"], maintenance_env),
            "web": subprocess.Popen(web_command, env=env),
        }
        stopping = False

        def stop(signum: int, frame: object) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        self.stdout.write(f"Serving on http://{options['host']}:{options['port']}/ (Ctrl-C stops web and worker)")
        restarts: list[float] = []
        failed = False
        try:
            while not stopping:
                if children["web"].poll() is not None:
                    failed = True
                    break
                for name in ("worker", "maintenance"):
                    if children[name].poll() is None:
                        continue
                    # A worker that died (killed, out of memory) is started again; the web server stays up.
                    restarts = [t for t in restarts if time.monotonic() - t < 60] + [time.monotonic()]
                    if len(restarts) > 5:
                        self.stderr.write(f"The {name} died {len(restarts)} times within a minute; stopping.")
                        failed = True
                        break
                    self.stderr.write(f"The {name} exited ({children[name].returncode}); starting it again")
                    children[name] = _start_worker(workers[name], maintenance_env if name == "maintenance" else env)
                if failed:
                    break
                time.sleep(0.5)
        finally:
            _stop_all(children, grace=settings.STOP_GRACE_SECONDS, write=self.stdout.write)
        if failed or any(child.returncode not in (0, -signal.SIGTERM, -signal.SIGINT) for child in children.values()):
            sys.exit(1)

    def _demo(self, host: str, port: int) -> None:
        login_file = Path(settings.DATA_DIR) / "demo-login.txt"
        from django.contrib.auth import get_user_model

        password = None
        if not get_user_model().objects.filter(username=DEMO_USER).exists():
            import secrets

            password = secrets.token_urlsafe(12)
            fd = os.open(login_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(password + "\n")
        # Each run hands out a fresh key; the previous run's demo key is revoked rather than left lying around.
        ApiToken.objects.filter(
            membership__tenant__slug=DEMO_TENANT,
            membership__user__username=DEMO_USER,
            name="bootstrap",
            revoked_at__isnull=True,
        ).update(revoked_at=timezone.now())
        membership, key, _ = tenant_bootstrap(
            slug=DEMO_TENANT, username=DEMO_USER, role=Role.ADMIN, password=password, staff=True
        )
        shown = password or (login_file.read_text().strip() if login_file.exists() else "(unchanged since you set it)")
        self.stdout.write(
            "\n".join(
                [
                    "",
                    f"  Web UI:    http://{host}:{port}/   (admin: http://{host}:{port}/admin/)",
                    f"  Login:     {membership.user.username} / {shown}",
                    f"  Tenant:    {membership.tenant.slug}",
                    f"  API token: {key}",
                    f"  Try:       curl -H 'Authorization: Token {key}' -F file=@README.md "
                    f"http://{host}:{port}/api/v1/documents",
                    "",
                ]
            )
        )


def _die_with_parent() -> None:
    # Linux: the worker gets SIGTERM (a warm shutdown) if `serve` itself dies without stopping it.
    if sys.platform.startswith("linux"):
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _start_worker(command: list[str], env: dict[str, str]) -> subprocess.Popen:
    # Its own session: a Ctrl-C in the terminal reaches `serve` alone, which stops the workers in order (below)
    # rather than each of them at once (a second SIGINT is Celery's cold shutdown, which strands the batch).
    # (preexec_fn is safe here: serve runs no other thread.)
    return subprocess.Popen(command, env=env, start_new_session=True, preexec_fn=_die_with_parent)


def _pool_children(pid: int) -> list[int]:
    children = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                children.append(int(entry.name))
        except (OSError, ValueError, IndexError):
            continue
    return children


def _stop_all(children: dict[str, subprocess.Popen], *, grace: float, write: Callable[[str], object]) -> None:
    """Stop the web server and the workers: Celery's warm shutdown lets the batch in progress finish within `grace`
    seconds; a batch still running then is released (its documents queued again, its task message put back), not
    killed half-way and left for the sweep."""
    for child in children.values():
        if child.poll() is None:
            child.terminate()  # gunicorn: graceful; Celery: warm shutdown (no new tasks, the current one finishes)
    worker = children["worker"]
    try:
        worker.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        write("The batch in progress did not finish in time: releasing it for the next start")
        for pid in _pool_children(worker.pid):
            try:
                os.kill(pid, RELEASE_SIGNAL)
            except ProcessLookupError:
                pass
    for child in children.values():
        try:
            child.wait(timeout=30)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait(timeout=10)
