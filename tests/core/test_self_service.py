from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone
from rest_framework.test import APIClient

from cleanroom.audit.models import AuditEvent
from cleanroom.tenants.models import ApiToken, Membership, Role
from tests.conftest import make_actor

MEMBERS = "/api/v1/tenant/members"
TOKENS = "/api/v1/tenant/tokens"


@pytest.fixture
def admin(db):
    return make_actor("tenant-a", "ada", Role.ADMIN)


@pytest.fixture
def outsider(db):
    """Someone with an account but no membership of tenant A."""
    return get_user_model().objects.create_user(username="olga", password="correct-horse-42")


def _token_client(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def _audit_text() -> str:
    return json.dumps(list(AuditEvent.objects.values("action", "details", "target_id")), default=str)


@pytest.mark.django_db
class TestMembersApi:
    def test_admin_lists_adds_changes_and_removes_a_member(self, admin, bob, outsider):
        client = admin.client()
        listed = client.get(MEMBERS).json()["results"]
        assert {row["username"]: row["role"] for row in listed} == {"ada": "admin", "bob": "viewer"}
        assert all(row["since"] for row in listed)

        added = client.post(MEMBERS, {"username": "olga", "role": "editor"}, format="json")
        assert added.status_code == 201 and added.json()["role"] == "editor"
        member_id = added.json()["id"]
        assert Membership.objects.get(pk=member_id, tenant=admin.tenant).user == outsider

        changed = client.patch(f"{MEMBERS}/{member_id}", {"role": "viewer"}, format="json")
        assert changed.status_code == 200 and changed.json()["role"] == "viewer"

        assert client.delete(f"{MEMBERS}/{member_id}").status_code == 204
        assert not Membership.objects.filter(pk=member_id).exists()

        actions = list(AuditEvent.objects.filter(tenant=admin.tenant).values_list("action", flat=True))
        assert {"membership.added", "membership.role_changed", "membership.removed"} <= set(actions)
        changed_event = AuditEvent.objects.get(action="membership.role_changed")
        assert changed_event.details["from"] == "editor" and changed_event.details["to"] == "viewer"
        assert changed_event.actor.username == "ada" and "ada" not in str(changed_event.details)

    def test_unknown_user_is_a_clear_404_and_no_user_is_created(self, admin):
        response = admin.client().post(MEMBERS, {"username": "nobody", "role": "viewer"}, format="json")
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "no_such_user"
        assert "no such user" in response.json()["error"]["message"].lower()
        assert not get_user_model().objects.filter(username="nobody").exists()

    def test_another_tenants_user_answers_like_an_unknown_one_and_is_not_enrolled(self, admin, charlie):
        client = admin.client()
        theirs = client.post(MEMBERS, {"username": "charlie", "role": "viewer"}, format="json")
        unknown = client.post(MEMBERS, {"username": "nobody-at-all", "role": "viewer"}, format="json")
        assert theirs.status_code == unknown.status_code == 404
        assert theirs.json() == unknown.json()
        assert not Membership.objects.filter(user=charlie.user, tenant=admin.tenant).exists()
        # An admin of both tenants (or the operator) may.
        Membership.objects.create(user=admin.user, tenant=charlie.tenant, role=Role.ADMIN)
        assert client.post(MEMBERS, {"username": "charlie", "role": "viewer"}, format="json").status_code == 201

    def test_adding_an_existing_member_again_is_a_conflict(self, admin, bob):
        response = admin.client().post(MEMBERS, {"username": "bob", "role": "editor"}, format="json")
        assert response.status_code == 409 and response.json()["error"]["code"] == "already_member"

    def test_bad_role_is_400(self, admin, bob):
        response = admin.client().patch(f"{MEMBERS}/{bob.membership.pk}", {"role": "owner"}, format="json")
        assert response.status_code == 400
        bob.membership.refresh_from_db()
        assert bob.membership.role == Role.VIEWER

    def test_editor_and_viewer_are_forbidden(self, admin, alice, bob):
        for actor in (alice, bob):
            client = actor.client()
            assert client.get(MEMBERS).status_code == 403
            assert client.post(MEMBERS, {"username": "bob", "role": "admin"}, format="json").status_code == 403
            assert client.patch(f"{MEMBERS}/{actor.membership.pk}", {"role": "admin"}, format="json").status_code == 403
            assert client.delete(f"{MEMBERS}/{admin.membership.pk}").status_code == 403
            assert client.get(TOKENS).status_code == 403
            assert client.post(TOKENS, {"name": "x"}, format="json").status_code == 403
        assert Membership.objects.get(pk=admin.membership.pk).role == Role.ADMIN

    def test_anonymous_is_401(self, db):
        assert APIClient().get(MEMBERS).status_code == 401

    def test_another_tenants_member_answers_like_a_missing_one(self, admin, charlie):
        client = admin.client()
        missing = client.get(f"{MEMBERS}/999999")
        for response in (
            client.get(f"{MEMBERS}/{charlie.membership.pk}"),
            client.patch(f"{MEMBERS}/{charlie.membership.pk}", {"role": "viewer"}, format="json"),
            client.delete(f"{MEMBERS}/{charlie.membership.pk}"),
            client.get(f"{MEMBERS}/not-a-number"),
        ):
            assert response.status_code == 404 and response.json() == missing.json()
        charlie.membership.refresh_from_db()
        assert charlie.membership.role == Role.EDITOR

    def test_the_last_admin_cannot_be_demoted_or_removed(self, admin, bob):
        client = admin.client()
        demoted = client.patch(f"{MEMBERS}/{admin.membership.pk}", {"role": "editor"}, format="json")
        assert demoted.status_code == 409 and demoted.json()["error"]["code"] == "last_admin"
        removed = client.delete(f"{MEMBERS}/{admin.membership.pk}")
        assert removed.status_code == 409 and removed.json()["error"]["code"] == "last_admin"
        assert Membership.objects.get(pk=admin.membership.pk).role == Role.ADMIN
        assert not AuditEvent.objects.filter(action__startswith="membership.").exists()

        # With a second admin, the first may step down.
        assert client.patch(f"{MEMBERS}/{bob.membership.pk}", {"role": "admin"}, format="json").status_code == 200
        assert client.patch(f"{MEMBERS}/{admin.membership.pk}", {"role": "editor"}, format="json").status_code == 200
        # Now bob is the last admin; ada's token is an editor's and may no longer manage members.
        assert client.get(MEMBERS).status_code == 403
        bob_client = bob.client()
        last = bob_client.delete(f"{MEMBERS}/{bob.membership.pk}")
        assert last.status_code == 409 and last.json()["error"]["code"] == "last_admin"


@pytest.mark.django_db
class TestTokensApi:
    def test_create_returns_the_key_once_it_authenticates_and_revoking_stops_it(self, admin):
        client = admin.client()
        created = client.post(TOKENS, {"name": "ci", "expires_in_days": 30}, format="json")
        assert created.status_code == 201
        body = created.json()
        key = body["key"]
        assert key.startswith(ApiToken.PREFIX) and key.startswith(body["key_prefix"])
        assert body["owner"] == "ada" and body["revoked"] is False
        assert body["expires_at"] is not None

        listed = client.get(TOKENS).json()["results"]
        row = next(row for row in listed if row["id"] == body["id"])
        assert "key" not in row and row["name"] == "ci" and row["key_prefix"] == body["key_prefix"]
        assert key not in json.dumps(listed)
        assert key not in json.dumps(client.get(f"{TOKENS}/{body['id']}").json())

        new_client = _token_client(key)
        assert new_client.get("/api/v1/documents").status_code == 200
        assert new_client.get(MEMBERS).status_code == 200
        assert ApiToken.objects.get(pk=body["id"]).last_used_at is not None

        assert client.delete(f"{TOKENS}/{body['id']}").status_code == 204
        assert new_client.get("/api/v1/documents").status_code == 401
        assert client.get(f"{TOKENS}/{body['id']}").json()["revoked"] is True
        assert client.delete(f"{TOKENS}/{body['id']}").status_code == 204  # harmless twice

        events = AuditEvent.objects.filter(action__startswith="api_token.")
        assert sorted(events.values_list("action", flat=True)) == ["api_token.created", "api_token.revoked"]
        assert all(event.details["key_prefix"] == body["key_prefix"] for event in events)
        text = _audit_text()
        assert key not in text and key[len(body["key_prefix"]) :] not in text
        assert ApiToken.objects.get(pk=body["id"]).key_hash not in text

    def test_token_without_expiry_and_invalid_expiry(self, admin):
        client = admin.client()
        created = client.post(TOKENS, {"name": "forever"}, format="json")
        assert created.status_code == 201 and created.json()["expires_at"] is None
        assert client.post(TOKENS, {"name": "x", "expires_in_days": 0}, format="json").status_code == 400

    def test_expired_token_is_401(self, admin):
        key = admin.client().post(TOKENS, {"name": "short", "expires_in_days": 1}, format="json").json()["key"]
        assert _token_client(key).get("/api/v1/documents").status_code == 200
        ApiToken.objects.filter(name="short").update(expires_at=timezone.now() - timedelta(seconds=1))
        response = _token_client(key).get("/api/v1/documents")
        assert response.status_code == 401

    def test_admin_sees_and_revokes_other_members_tokens(self, admin, bob):
        client = admin.client()
        listed = client.get(TOKENS).json()["results"]
        assert {row["owner"] for row in listed} == {"ada", "bob"}
        bobs = ApiToken.objects.get(membership=bob.membership)
        assert client.delete(f"{TOKENS}/{bobs.pk}").status_code == 204
        assert bob.client().get("/api/v1/documents").status_code == 401

    def test_another_tenants_token_answers_like_a_missing_one(self, admin, charlie):
        client = admin.client()
        theirs = ApiToken.objects.get(membership=charlie.membership)
        missing = client.get(f"{TOKENS}/999999")
        assert missing.status_code == 404
        for response in (client.get(f"{TOKENS}/{theirs.pk}"), client.delete(f"{TOKENS}/{theirs.pk}")):
            assert response.status_code == 404 and response.json() == missing.json()
        assert charlie.client().get("/api/v1/documents").status_code == 200
        assert all(row["owner"] == "ada" for row in client.get(TOKENS).json()["results"])


@pytest.mark.django_db
class TestTenantPage:
    def test_admin_manages_members_from_the_page(self, client, admin, bob, outsider):
        client.force_login(admin.user)
        page = client.get("/tenant/")
        assert page.status_code == 200
        assert b"bob" in page.content and b"API tokens" in page.content
        assert b'href="/tenant/"' in page.content  # the nav link, for admins

        response = client.post("/tenant/members/add", {"username": "olga", "role": "editor"})
        assert response.status_code == 302
        olga = Membership.objects.get(tenant=admin.tenant, user=outsider)
        assert olga.role == Role.EDITOR

        assert client.post(f"/tenant/members/{olga.pk}/role", {"role": "admin"}).status_code == 302
        olga.refresh_from_db()
        assert olga.role == Role.ADMIN

        assert client.post(f"/tenant/members/{olga.pk}/remove").status_code == 302
        assert not Membership.objects.filter(pk=olga.pk).exists()
        assert AuditEvent.objects.filter(action="membership.removed", target_id=str(olga.pk)).exists()

    def test_page_errors_are_shown(self, client, admin):
        client.force_login(admin.user)
        unknown = client.post("/tenant/members/add", {"username": "nobody", "role": "viewer"}, follow=True)
        assert b"No such user" in unknown.content
        last = client.post(f"/tenant/members/{admin.membership.pk}/role", {"role": "viewer"}, follow=True)
        assert b"last admin" in last.content
        admin.membership.refresh_from_db()
        assert admin.membership.role == Role.ADMIN

    def test_token_created_on_the_page_shows_the_key_once(self, client, admin):
        client.force_login(admin.user)
        response = client.post("/tenant/tokens/create", {"name": "laptop", "expires_in_days": "7"})
        assert response.status_code == 200 and response["Cache-Control"] == "no-store"
        token = ApiToken.objects.get(name="laptop")
        key = response.context["new_key"]
        assert key.encode() in response.content and token.expires_at is not None
        assert key.encode() not in client.get("/tenant/").content
        assert _token_client(key).get("/api/v1/documents").status_code == 200

        assert client.post(f"/tenant/tokens/{token.pk}/revoke").status_code == 302
        assert _token_client(key).get("/api/v1/documents").status_code == 401
        assert key not in _audit_text()

    def test_editor_and_viewer_get_403_and_no_nav_link(self, client, admin, alice, bob):
        for actor in (alice, bob):
            client.force_login(actor.user)
            assert client.get("/tenant/").status_code == 403
            assert client.post("/tenant/members/add", {"username": "bob", "role": "admin"}).status_code == 403
            assert client.post(f"/tenant/members/{admin.membership.pk}/remove").status_code == 403
            assert client.post("/tenant/tokens/create", {"name": "x"}).status_code == 403
            assert b'href="/tenant/"' not in client.get("/documents/").content
        assert Membership.objects.get(pk=admin.membership.pk).role == Role.ADMIN
        assert not ApiToken.objects.filter(name="x").exists()

    def test_another_tenants_ids_are_404_on_the_page(self, client, admin, charlie):
        client.force_login(admin.user)
        theirs = ApiToken.objects.get(membership=charlie.membership)
        assert client.post(f"/tenant/members/{charlie.membership.pk}/remove").status_code == 404
        assert client.post(f"/tenant/members/{charlie.membership.pk}/role", {"role": "viewer"}).status_code == 404
        assert client.post(f"/tenant/tokens/{theirs.pk}/revoke").status_code == 404
        assert Membership.objects.filter(pk=charlie.membership.pk).exists()
        assert ApiToken.objects.get(pk=theirs.pk).revoked_at is None
