from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from cleanroom import embedded
from cleanroom.routing import RegionRouter

ROOT = Path(__file__).resolve().parents[2]


def test_single_region_deployments_route_everything_to_default(settings):
    from cleanroom.tenants.models import Tenant
    from ingestion.models import Chunk

    router = RegionRouter()
    assert router.db_for_write(Chunk) == "default" and router.db_for_read(Tenant) == "default"
    assert router.allow_migrate("default", "ingestion") and router.allow_migrate("default", "tenants")


def test_two_embedded_postgresql_regions_keep_each_tenant_in_its_store(tmp_path):
    """A child pytest with two real embedded PostgreSQL servers as regions "in" (default) and "eu"."""
    pgdata = tmp_path / "eu-pgdata"
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "CLEANROOM_REGION": "in",
        "CLEANROOM_REGIONS": json.dumps({"in": "default", "eu": f"embedded:{pgdata}"}),
        "CLEANROOM_KNOWN_REGIONS": "in,eu,us",
        # Its own test database on the shared server, so it does not collide with this run's.
        "CLEANROOM_DB_NAME": "cleanroom_regions",
    }
    try:
        result = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/helpers/scenario_two_regions.py"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=1200,
        )
        assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
        assert "6 passed" in result.stdout
    finally:
        if (pgdata / "postmaster.pid").exists():
            embedded.stop_embedded_postgres(pgdata)


def test_embedded_server_gets_its_shared_buffers_size(tmp_path, monkeypatch):
    """PostgreSQL's default 128 MB does not hold the vectors and HNSW graph of a 100,000-chunk deployment."""
    import psycopg

    pgdata = tmp_path / "pgdata"
    monkeypatch.setenv("CLEANROOM_PG_SHARED_BUFFERS_MB", "160")
    try:
        socket_dir = embedded.ensure_embedded_postgres(pgdata, database="sizing")
        with psycopg.connect(host=socket_dir, user="postgres", dbname="sizing") as conn:
            assert conn.execute("SHOW shared_buffers").fetchone()[0] == "160MB"
            # Another process starting while this one is connected must not restart the server under it.
            monkeypatch.setenv("CLEANROOM_PG_SHARED_BUFFERS_MB", "192")
            assert embedded.ensure_embedded_postgres(pgdata, database="sizing") == socket_dir
            assert conn.execute("SELECT 1").fetchone() == (1,)
            assert conn.execute("SHOW shared_buffers").fetchone()[0] == "160MB"
        # With nobody connected, the next process applies the new size.
        embedded.ensure_embedded_postgres(pgdata, database="sizing")
        with psycopg.connect(host=socket_dir, user="postgres", dbname="sizing") as conn:
            assert conn.execute("SHOW shared_buffers").fetchone()[0] == "192MB"
    finally:
        if (pgdata / "postmaster.pid").exists():
            embedded.stop_embedded_postgres(pgdata)
