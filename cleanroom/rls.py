"""Row-level security, the second line behind the application's tenant filters.

Every table with tenant rows has a policy (`policy_sql`, applied by each app's migration): a row is visible and
writable only when its `tenant_id` is in the connection's `cleanroom.tenants` setting, or when the connection is in
system scope (`cleanroom.system` = on). RLS is forced, so the table owner is held to it too; connections of the
service switch to a role that is neither owner nor superuser (`settings.RLS_ROLE`) as they open, so that nothing but
the policy decides. Migrations run as the owner (`pre_migrate` switches back) in system scope.

The scope follows the code, in a context variable applied to every open connection when it changes and to each new
one as it opens:
- a web or API request starts with no tenant (it reads nothing); resolving its tenant enters that tenant's scope
  (cleanroom/routing.py), Django admin enters the tenants its user administers;
- a task or command that works across tenants (the sweep, periodic scans, metrics) enters system scope explicitly,
  one that works for a tenant enters that tenant's; code outside any request (a worker, a command, a shell) starts
  in system scope, the way it ran before this line existed.
"""

from __future__ import annotations

import contextvars
import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from django.conf import settings
from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.signals import connection_created
from django.db.models.signals import pre_migrate

logger = logging.getLogger(__name__)

SYSTEM = "system"
NOBODY = ""

# "system", or the comma-separated ids of the tenants whose rows are visible ("" for none); None: the process's
# default, system scope unless the process serves requests (cleanroom/wsgi.py), where it is no tenant at all.
_scope: contextvars.ContextVar[str | None] = contextvars.ContextVar("cleanroom_rls_scope", default=None)
_process_default = SYSTEM
_owner_mode = False  # set for the rest of a process that migrates


def process_default_set(scope: str) -> None:
    """What code outside any scope sees in this process: the web server sets NOBODY, so that a connection between
    two requests, or any code a request runs outside the middleware, sees no tenant's rows."""
    global _process_default
    _process_default = scope


def _apply(connection: BaseDatabaseWrapper, scope: str) -> None:
    system = "on" if scope == SYSTEM else "off"
    tenants = "" if scope == SYSTEM else scope
    # A plain cursor of the driver: the setting must not wait for (or be part of) Django's query machinery.
    with connection.connection.cursor() as cursor:
        cursor.execute(
            "SELECT set_config('cleanroom.system', %s, false), set_config('cleanroom.tenants', %s, false)",
            [system, tenants],
        )


def _open_connections() -> Iterator[BaseDatabaseWrapper]:
    for connection in connections.all(initialized_only=True):
        if connection.vendor == "postgresql" and connection.connection is not None:
            yield connection


def _apply_everywhere() -> None:
    scope = current()
    for connection in _open_connections():
        try:
            _apply(connection, scope)
        except psycopg.Error as exc:
            # A connection that cannot take the new scope (the server restarted under it, its transaction failed)
            # must not go on with the old one: close it. The next query opens a fresh connection, which
            # connection_created scopes, or fails as Django's OperationalError (a JSON 503 from the middleware).
            logger.warning("closing a database connection that could not change scope (%s)", type(exc).__name__)
            try:
                connection.close()
            except Exception:  # a broken connection may fail to close; it is dropped either way
                connection.connection = None


def current() -> str:
    scope = _scope.get()
    return _process_default if scope is None else scope


def scope_set(scope: str) -> contextvars.Token[str | None]:
    token = _scope.set(scope)
    _apply_everywhere()
    return token


def scope_reset(token: contextvars.Token[str | None]) -> None:
    _scope.reset(token)
    _apply_everywhere()


def tenants_scope_value(tenant_ids: Iterable[int]) -> str:
    return ",".join(str(int(pk)) for pk in sorted(set(tenant_ids)))


def tenant_enter(tenant: Any) -> None:
    """For the rest of this request (the middleware resets it): only `tenant`'s rows."""
    scope_set(tenants_scope_value([tenant.pk]))


@contextmanager
def scoped(scope: str) -> Iterator[None]:
    token = scope_set(scope)
    try:
        yield
    finally:
        scope_reset(token)


def system_scope() -> Any:
    """Every tenant's rows: for work that spans tenants by design (the sweep, metrics, the audit chain)."""
    return scoped(SYSTEM)


def tenant_scope(tenant: Any) -> Any:
    return scoped(tenants_scope_value([tenant.pk]))


def request_start() -> contextvars.Token[str | None]:
    return scope_set(NOBODY)


def _role_switch(cursor: Any) -> None:
    # Before the first migration has made the role (a new database, the test databases being built) there is no
    # role to switch to; the connection acts as the owner until then, and says so.
    cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [settings.RLS_ROLE])
    if cursor.fetchone() is None:
        logger.debug("database role %s does not exist yet (not migrated?): connected as the owner", settings.RLS_ROLE)
        return
    cursor.execute(f'SET ROLE "{settings.RLS_ROLE}"')


def _on_connection_created(sender: Any, connection: BaseDatabaseWrapper, **kwargs: Any) -> None:
    if connection.vendor != "postgresql":
        return
    if not _owner_mode:
        with connection.connection.cursor() as cursor:
            _role_switch(cursor)
    _apply(connection, SYSTEM if _owner_mode else current())


def _on_pre_migrate(sender: Any, using: str = "default", **kwargs: Any) -> None:
    owner_mode_enter()


def owner_mode_enter() -> None:
    """This process migrates: its connections act as the owner, in system scope, from now on."""
    global _owner_mode
    _owner_mode = True
    for connection in _open_connections():
        with connection.connection.cursor() as cursor:
            cursor.execute("RESET ROLE")
        _apply(connection, SYSTEM)


def app_mode_enter() -> None:
    """Back from owner mode (the test suite, once its databases are built): the service's role again."""
    global _owner_mode
    _owner_mode = False
    for connection in _open_connections():
        with connection.connection.cursor() as cursor:
            _role_switch(cursor)
        _apply(connection, current())


def connect_signals() -> None:
    connection_created.connect(_on_connection_created, dispatch_uid="cleanroom.rls.connection")
    pre_migrate.connect(_on_pre_migrate, dispatch_uid="cleanroom.rls.pre_migrate")


# --- SQL for migrations ---

# The settings are read in sub-selects: PostgreSQL evaluates them once per statement (an InitPlan), not per row.
_VISIBLE = (
    "(SELECT current_setting('cleanroom.system', true)) = 'on' OR tenant_id = ANY "
    "((SELECT string_to_array(nullif(current_setting('cleanroom.tenants', true), ''), ','))::bigint[])"
)


def role_sql(role: str) -> str:
    """Create the service's role if need be and give it the rows (not the tables) of this database."""
    return f"""
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{role}') THEN
        CREATE ROLE "{role}" NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
    END IF;
    IF NOT pg_has_role(current_user, '{role}', 'MEMBER') THEN
        EXECUTE format('GRANT %I TO %I', '{role}', current_user);
    END IF;
END $$;
GRANT USAGE ON SCHEMA public TO "{role}";
GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON ALL TABLES IN SCHEMA public TO "{role}";
GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO "{role}";
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON TABLES TO "{role}";
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO "{role}";
"""


def policy_sql(table: str) -> str:
    return f"""
ALTER TABLE "{table}" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "{table}" FORCE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS tenant_rows ON "{table}";
CREATE POLICY tenant_rows ON "{table}" USING ({_VISIBLE}) WITH CHECK ({_VISIBLE});
"""


def policy_reverse_sql(table: str) -> str:
    return f"""
DROP POLICY IF EXISTS tenant_rows ON "{table}";
ALTER TABLE "{table}" NO FORCE ROW LEVEL SECURITY;
ALTER TABLE "{table}" DISABLE ROW LEVEL SECURITY;
"""
