"""The one step that prepares the machine for the settings: folders, generated keys, the embedded PostgreSQL.

cleanroom/settings.py only reads the environment (and key files that already exist), so importing it creates and
starts nothing. Every entry point calls `bootstrap()` before Django touches the database: manage.py, wsgi.py, the
Celery worker and beat (cleanroom/celery.py) and the tests (tests/conftest.py). A second call in the same process
returns at once; a second process finds the folders, keys and server there and only reconnects to the server.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from cleanroom import embedded

_done = False


class MissingKey:
    """Stands in settings for a key file that bootstrap() has not generated yet: falsy, and any use of it (as in
    `settings.CLEANROOM_VAULT_KEY.encode()`) fails loudly instead of keying pseudonyms with an empty string."""

    def __init__(self, setting: str, path: Path) -> None:
        self._setting = setting
        self._path = path

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        return f"<{self._setting}: {self._path} not generated yet>"

    def __getattr__(self, name: str) -> object:
        if name.startswith("__"):  # copy, pickle and friends probe for optional protocols
            raise AttributeError(name)
        raise ImproperlyConfigured(
            f"{self._setting} is not set and {self._path} does not exist yet: the process must call "
            "cleanroom.bootstrap.bootstrap() before using it (manage.py, wsgi.py and the Celery worker do)."
        )


def read_key(path: Path, setting: str) -> str | MissingKey:
    """The key kept in `path`, or a MissingKey while bootstrap() has not written it. Settings may read, not write."""
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        return MissingKey(setting, path)


def _ensure_key(path: Path, nbytes: int) -> str:
    """Generate the key file once (0600, O_EXCL so that two processes starting together keep the first one's)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(nbytes))
    return path.read_text().strip()


def bootstrap() -> None:
    """Create the data directory's folders and key files if missing, and start (or find running) the embedded
    PostgreSQL of every embedded database, recording its socket directory in settings.DATABASES."""
    global _done
    if _done:
        return
    from django.conf import settings

    Path(settings.DATA_DIR).mkdir(parents=True, exist_ok=True)
    # Keys the settings found missing (a fresh data directory): generate them, then hand them to the settings.
    secret_key_file = getattr(settings, "SECRET_KEY_FILE", None)
    if secret_key_file:
        settings.SECRET_KEY = _ensure_key(Path(secret_key_file), 64)
    vault_key_file = getattr(settings, "VAULT_KEY_FILE", None)
    if vault_key_file:
        settings.CLEANROOM_VAULT_KEY = _ensure_key(Path(vault_key_file), 48)

    Path(settings.STATIC_ROOT).mkdir(parents=True, exist_ok=True)
    upload_dir = Path(settings.UPLOAD_DIR)
    upload_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(upload_dir, 0o700)  # raw, unredacted uploads wait here
    if settings.CELERY_BROKER_URL.startswith("filesystem://"):
        options = settings.CELERY_BROKER_TRANSPORT_OPTIONS
        for key in ("data_folder_in", "data_folder_out", "processed_folder", "control_folder"):
            if options.get(key):
                Path(str(options[key])).mkdir(parents=True, exist_ok=True)

    # In place, so that a connection handler that has already read settings.DATABASES sees the real socket.
    for alias, pgdata in getattr(settings, "EMBEDDED_DATABASES", {}).items():
        database = settings.DATABASES[alias]
        database["HOST"] = embedded.ensure_embedded_postgres(Path(pgdata), database=database["NAME"])
    _done = True


def missing_tables_message() -> str | None:
    """One line saying what to run when a store has no tables or unapplied migrations; None when every store is
    migrated or cannot be checked, so that the caller shows the original error instead."""
    from django.conf import settings
    from django.db import connections
    from django.db.migrations.executor import MigrationExecutor

    connections.close_all()  # a failed query may have left a connection in an aborted transaction
    embedded_stores = getattr(settings, "EMBEDDED_DATABASES", {})
    for alias, database in settings.DATABASES.items():
        try:
            executor = MigrationExecutor(connections[alias])
            has_tables = executor.recorder.has_table()
            pending = not has_tables or bool(executor.migration_plan(executor.loader.graph.leaf_nodes()))
        except Exception:  # unreachable, or no migration graph: the original error says more than this check
            return None
        if not pending:
            continue
        where = f"in {embedded_stores[alias]}" if alias in embedded_stores else f"{database.get('NAME')!r}"
        if alias != "default":
            where += f" (region store {alias})"
        state = "has no tables yet" if not has_tables else "has unapplied migrations"
        command = "python manage.py migrate" if alias == "default" else "python manage.py migrate_regions"
        return f"The database {where} {state}: run `{command}` (or `make run`, which does it)"
    return None
