"""Schemathesis against the OpenAPI schema that drf-spectacular serves, through the WSGI app in this process, with a
valid token of a tenant that has a document and a conversation: no 5xx, and every response matches the schema.
Bounded and reproducible (derandomised, few examples per operation), so it runs in `make test`."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error, response_schema_conformance

from retrieval.conversations import conversation_create
from tests.conftest import Actor, ingest, make_actor

EXAMPLES = 12


@pytest.fixture
def _keep_test_connection() -> Iterator[None]:
    # The real WSGI handler closes "obsolete" connections around each request, which in a test transaction is the
    # test's own connection; Django's test client disconnects the same receivers.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.fixture
def fuzzer(db, _keep_test_connection) -> Actor:
    actor = make_actor("fuzz", "fuzzer", "admin")
    ingest(actor, "leave.md", b"# Leave\n\nEmployees get 24 days of annual leave a year.\n")
    conversation_create(tenant=actor.tenant, user=actor.user, title="Leave")
    return actor


def _fuzz(operation, headers: dict[str, str], statuses: set[int]) -> None:  # noqa: ANN001
    @given(case=operation.as_strategy())
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def run(case) -> None:  # noqa: ANN001
        response = case.call(headers=headers)
        statuses.add(response.status_code)
        case.validate_response(response, checks=[not_a_server_error, response_schema_conformance])

    run()


def test_api_answers_within_its_schema(fuzzer):  # noqa: ANN001
    # Operation by operation with Hypothesis directly: schemathesis' own pytest plugin does not run under pytest 9.
    schema = schemathesis.openapi.from_wsgi("/api/v1/schema", get_wsgi_application())
    headers = {"Authorization": f"Token {fuzzer.key}"}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 15, [op.label for op in operations]
    failures: list[str] = []
    statuses: dict[str, set[int]] = defaultdict(set)
    for operation in operations:
        try:
            _fuzz(operation, headers, statuses[operation.label])
        except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - collect every operation's failure, report all
            failures.append(f"{operation.label}: {str(exc)[:800]}")
    assert not failures, "\n\n".join(failures)
    # The fuzzing got past validation: every operation ran, and the collections (whose paths need no id of ours)
    # answered a success for some generated input; most id paths get random ids, hence 404.
    succeeded = [label for label, codes in statuses.items() if any(200 <= code < 300 for code in codes)]
    assert len(statuses) == len(operations) and len(succeeded) >= 8, dict(statuses)
    assert {"GET /api/v1/documents", "POST /api/v1/search", "POST /api/v1/conversations"} <= set(succeeded)
