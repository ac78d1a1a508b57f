from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from cleanroom.celery import worker_command
from cleanroom.tenants.models import ApiToken, Role
from cleanroom.tenants.services import tenant_bootstrap

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
        parser.add_argument("--threads", type=int, default=4, help="Web server threads")
        parser.add_argument("--demo", action="store_true", help="Create (or reuse) the demo tenant and admin user")

    def handle(self, *args: Any, **options: Any) -> None:
        call_command("migrate", interactive=False, verbosity=0)
        call_command("migrate_regions", verbosity=0)  # other region stores of CLEANROOM_REGIONS, if any
        if options["demo"]:
            self._demo(options["host"], options["port"])

        env = {**os.environ, "CLEANROOM_WARMUP": os.environ.get("CLEANROOM_WARMUP", "1")}
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            env.setdefault("C_FORCE_ROOT", "1")  # Celery refuses to run as root without it
        python = sys.executable
        worker = subprocess.Popen(
            worker_command(
                # scheduled work (CELERY_BEAT_SCHEDULE): stuck-document sweep, retention purges, leak scans
                beat=True,
                concurrency=int(os.environ.get("CLEANROOM_WORKER_CONCURRENCY", "1")),
                hostname="cleanroom@%h",
            ),
            env=env,
        )
        web = subprocess.Popen(
            [
                python,
                "-m",
                "gunicorn",
                "cleanroom.wsgi:application",
                "--config",
                "python:cleanroom.gunicorn_conf",
                "--bind",
                f"{options['host']}:{options['port']}",
                "--threads",
                str(options["threads"]),
            ],
            env=env,
        )
        children = [worker, web]

        def stop(signum: int, frame: object) -> None:
            for child in children:
                if child.poll() is None:
                    child.terminate()

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        self.stdout.write(f"Serving on http://{options['host']}:{options['port']}/ (Ctrl-C stops web and worker)")
        try:
            while all(child.poll() is None for child in children):
                time.sleep(0.5)
        finally:
            stop(signal.SIGTERM, None)
            for child in children:
                try:
                    child.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    child.kill()
        codes = [child.returncode for child in children]
        if any(code not in (0, -signal.SIGTERM, -signal.SIGINT) for code in codes):
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
