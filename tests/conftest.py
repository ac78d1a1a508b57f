from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from cleanroom.tenants.models import Membership, Role, Tenant
from cleanroom.tenants.services import tenant_bootstrap
from ingestion.models import Document
from ingestion.pipeline import document_process
from ingestion.upload import document_create

# Tests enqueue to a Redis database of their own (the integration tests start a real worker on it). Set before
# Celery first reads its configuration, which it does lazily on the first send.
settings.CELERY_BROKER_URL = os.environ.get("CLEANROOM_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
settings.CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}


def pytest_configure(config: pytest.Config) -> None:
    # Settings only read the environment; like manage.py, the suite makes the key files and starts the embedded
    # PostgreSQL itself, before pytest-django creates the test databases.
    from cleanroom import rls
    from cleanroom.bootstrap import bootstrap

    bootstrap()
    rls.owner_mode_enter()  # the owner builds the test databases; _service_role below switches to the service's role


@pytest.fixture(autouse=True, scope="session")
def _service_role(django_db_setup, django_db_blocker) -> Iterator[None]:
    # Building the test databases migrated them as the owner; the tests run as the service does, as its role
    # under row-level security (cleanroom/rls.py); the owner drops the databases at the end.
    from cleanroom import rls

    with django_db_blocker.unblock():
        rls.app_mode_enter()
    yield
    with django_db_blocker.unblock():
        rls.owner_mode_enter()


@pytest.fixture(autouse=True, scope="session")
def _small_answer_model() -> None:
    # The default 1.5B model answers well but is slow to load; the tests check the plumbing with a tiny one.
    settings.LLM_MODEL = os.environ.get("CLEANROOM_TEST_LLM_MODEL", "smollm2-135m")
    settings.LLM_CONTEXT_TOKENS = 2048
    # SmolLM2's yes/no judgement of its passages is near 0.5 whatever the question (measured), so it is asked and
    # recorded but decides nothing here; tests/retrieval/test_judgement.py sets the floor where it tests it.
    settings.ANSWER_JUDGE_FLOOR = 0.0


@dataclass
class Actor:
    membership: Membership
    key: str

    @property
    def user(self):  # noqa: ANN201
        return self.membership.user

    @property
    def tenant(self) -> Tenant:
        return self.membership.tenant

    def client(self) -> APIClient:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {self.key}")
        return client


def make_actor(tenant: str, username: str, role: str = Role.EDITOR) -> Actor:
    membership, key, _ = tenant_bootstrap(slug=tenant, username=username, role=role, password="correct-horse-42")
    return Actor(membership, key)


@pytest.fixture
def alice(db) -> Actor:
    return make_actor("tenant-a", "alice", Role.EDITOR)


@pytest.fixture
def bob(db) -> Actor:
    """Alice's colleague in tenant A, who may only read."""
    return make_actor("tenant-a", "bob", Role.VIEWER)


@pytest.fixture
def charlie(db) -> Actor:
    """In tenant B: should have no access to Alice's stuff."""
    return make_actor("tenant-b", "charlie", Role.EDITOR)


def upload(actor: Actor, name: str, data: bytes, title: str = "") -> Document:
    return document_create(tenant=actor.tenant, user=actor.user, upload=SimpleUploadedFile(name, data), title=title)


def ingest(actor: Actor, name: str, data: bytes, title: str = "") -> Document:
    """Upload and run the real pipeline in this process, as the worker would."""
    document = upload(actor, name, data, title)
    document_process(document_id=str(document.pk))
    document.refresh_from_db()
    return document
