"""Django admin is tenant-scoped: a tenant administrator (bootstrap_tenant --staff) sees and changes only their
tenant, another tenant's object answers like a missing one, and only a platform operator (--operator) sees all."""

from __future__ import annotations

import io
import re
import uuid
from dataclasses import dataclass

import pytest
from django.conf import settings
from django.contrib import admin
from django.contrib.auth.models import Permission, User
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import models
from django.test import Client

from cleanroom.access.admin import TenantScopedAdmin, object_tenant_id
from cleanroom.audit.models import AuditEvent
from cleanroom.audit.services import audit_record
from cleanroom.errors import ServiceError
from cleanroom.pii.entities import DEFAULT_REDACT_ENTITIES
from cleanroom.policies.models import AllowTerm, CustomRecognizer, DenyTerm, EntityRule, PiiAction, ResidencyRule
from cleanroom.tenants.management.commands.bootstrap_tenant import Command
from cleanroom.tenants.models import ApiToken, Membership, Role, Tenant
from cleanroom.tenants.services import TENANT_ADMIN_GROUP, tenant_bootstrap
from cleanroom.vault.models import ErasureReceipt, VaultEntry
from cleanroom.vault.services import vault_reveal
from ingestion.models import Chunk, Document
from tests.conftest import Actor, ingest

HOME = settings.CLEANROOM_REGION
PASSWORD = "pw-for-tests-1"
PERSON_TOKEN = re.compile(r"<PERSON_[0-9a-f]{8}>")
SCOPED_APPS = {"tenants", "policies", "audit", "vault", "ingestion"}

# Every scoped model, with its admin URL part and how a row reaches its tenant.
MODELS: list[tuple[type[models.Model], str]] = [
    (Tenant, "pk"),
    (Membership, "tenant"),
    (ApiToken, "membership__tenant"),
    (ResidencyRule, "tenant"),
    (EntityRule, "tenant"),
    (AllowTerm, "tenant"),
    (DenyTerm, "tenant"),
    (CustomRecognizer, "tenant"),
    (AuditEvent, "tenant"),
    (VaultEntry, "tenant"),
    (ErasureReceipt, "tenant"),
    (Document, "tenant"),
    (Chunk, "tenant"),
]


def _url(model: type[models.Model], suffix: str = "") -> str:
    return f"/admin/{model._meta.app_label}/{model._meta.model_name}/{suffix}"


def _tenant_rows(tenant: Tenant, marker: str) -> None:
    """One row of every scoped model for `tenant`; values carry `marker` where the model has free text."""
    ResidencyRule.objects.create(tenant=tenant, redact_entities=list(DEFAULT_REDACT_ENTITIES))
    EntityRule.objects.create(tenant=tenant, entity_type="PERSON", action=PiiAction.PSEUDONYMIZE)
    AllowTerm.objects.create(tenant=tenant, term=f"{marker} allowed term")
    DenyTerm.objects.create(tenant=tenant, term=f"{marker} denied term")
    CustomRecognizer.objects.create(tenant=tenant, label=f"{marker.upper()}_ID", pattern=r"\b" + marker + r"-\d{6}\b")
    ErasureReceipt.objects.create(
        tenant=tenant, identifier_fingerprint="0" * 16, mode="redact", requested_by=marker, verified=True, receipt={}
    )
    audit_record(tenant=tenant, actor=None, action=f"test.{marker}", details={})


@dataclass
class World:
    a: Actor  # alice, editor in tenant A
    b: Actor  # charlie, editor in tenant B
    admin_user: User  # ann, administrator of tenant A (bootstrap_tenant --staff)
    client: Client  # signed in as ann

    def row(self, model: type[models.Model], lookup: str, tenant: Tenant) -> models.Model:
        return model._default_manager.filter(**{lookup: tenant.pk}).order_by("pk").first()


@pytest.fixture
def world(alice, charlie) -> World:
    for actor, marker in ((alice, "alpha"), (charlie, "bravo")):
        _tenant_rows(actor.tenant, marker)
        ingest(actor, f"{marker}.txt", f"Minutes {marker}. Kavya Iyer approved the {marker} budget.".encode())
    membership, _, _ = tenant_bootstrap(
        slug=alice.tenant.slug, username="ann", role=Role.ADMIN, password=PASSWORD, staff=True
    )
    client = Client()
    client.force_login(membership.user)
    return World(alice, charlie, membership.user, client)


@pytest.mark.django_db
class TestScopedAdmin:
    def test_every_registered_admin_of_the_apps_is_scoped_and_covered_here(self):
        registered = {model for model in admin.site._registry if model._meta.app_label in SCOPED_APPS}
        assert registered == {model for model, _ in MODELS}
        for model in registered:
            assert isinstance(admin.site._registry[model], TenantScopedAdmin), model

    def test_every_changelist_shows_only_the_administered_tenant(self, world):
        for model, lookup in MODELS:
            a_row, b_row = world.row(model, lookup, world.a.tenant), world.row(model, lookup, world.b.tenant)
            assert a_row is not None and b_row is not None, model  # the data set has both tenants' rows
            response = world.client.get(_url(model))
            assert response.status_code == 200, model
            shown = list(response.context["cl"].queryset)
            assert a_row in shown and b_row not in shown, model
            assert {object_tenant_id(obj, lookup) for obj in shown} == {world.a.tenant.pk}, model
            page = response.content.decode()
            # Nothing of tenant B: not its rows, not its name in a list filter, not its users.
            for leak in ("tenant-b", "Tenant B", "bravo", "charlie"):
                assert leak not in page, (model, leak)

    def test_another_tenants_object_answers_like_a_missing_one(self, world):
        for model, lookup in MODELS:
            b_row = world.row(model, lookup, world.b.tenant)
            missing = uuid.uuid4() if model is Document else 987654321
            for view in ("change/", "delete/", "history/"):
                answers = []
                for pk in (b_row.pk, missing):
                    response = world.client.get(_url(model, f"{pk}/{view}"), follow=True)
                    shown = response.context["messages"] if response.context and "messages" in response.context else []
                    messages = [str(m).replace(str(pk), "<id>") for m in shown]
                    answers.append((response.status_code, response.redirect_chain, messages))
                assert answers[0] == answers[1], (model, view, answers)
                if view != "delete/":  # a model this user may not delete refuses both alike, before any lookup
                    assert answers[0][1] == [("/admin/", 302)] and "doesn’t exist" in answers[0][2][0], (model, view)
        # A POST to another tenant's change or delete form changes nothing either.
        b_rule = AllowTerm.objects.get(tenant=world.b.tenant)
        world.client.post(_url(AllowTerm, f"{b_rule.pk}/change/"), {"tenant": world.a.tenant.pk, "term": "moved"})
        world.client.post(_url(AllowTerm, f"{b_rule.pk}/delete/"), {"post": "yes"})
        b_rule.refresh_from_db()
        assert b_rule.tenant == world.b.tenant and b_rule.term == "bravo allowed term"

    def test_bulk_delete_of_another_tenants_rows_deletes_nothing(self, world):
        b_term = AllowTerm.objects.get(tenant=world.b.tenant)
        world.client.post(
            _url(AllowTerm), {"action": "delete_selected", "_selected_action": [b_term.pk], "post": "yes"}
        )
        assert AllowTerm.objects.filter(pk=b_term.pk).exists()

    def test_add_forms_refuse_another_tenant_and_offer_none(self, world):
        a, b = world.a.tenant, world.b.tenant
        ResidencyRule.objects.filter(tenant=b).delete()  # so that only the tenant choice can refuse it
        EntityRule.objects.filter(tenant=b).delete()
        forms = [
            (
                ResidencyRule,
                {"storage_regions": [HOME], "processing_regions": [HOME], "redact_entities": DEFAULT_REDACT_ENTITIES},
            ),
            (EntityRule, {"entity_type": "PERSON", "action": "redact", "threshold": "0.5"}),
            (AllowTerm, {"term": "new term"}),
            (CustomRecognizer, {"label": "NEW_ID", "pattern": r"\bNEW-\d{4}\b", "action": "redact"}),
            (Membership, {"user": world.a.user.pk, "role": "viewer"}),
            (ErasureReceipt, {"identifier": "Kavya Iyer", "mode": "redact"}),
        ]
        for model, data in forms:
            page = world.client.get(_url(model, "add/"))
            assert page.status_code == 200, model
            assert f'<option value="{b.pk}"' not in page.content.decode(), model
            before = model._default_manager.count()
            audited = AuditEvent.objects.count()
            response = world.client.post(_url(model, "add/"), {**data, "tenant": b.pk})
            assert response.status_code == 200, model
            assert "Select a valid choice" in response.context["adminform"].form.errors["tenant"][0], model
            assert model._default_manager.count() == before, model
            assert AuditEvent.objects.count() == audited, model  # no policy change, no erasure ran
        assert "Kavya" not in Chunk.objects.get(tenant=b).text  # pseudonymised, and no erasure touched it
        assert PERSON_TOKEN.search(Chunk.objects.get(tenant=b).text)
        # The administered tenant's forms work; a membership may only name a colleague (no user list of the site).
        created = world.client.post(_url(AllowTerm, "add/"), {"tenant": a.pk, "term": "new term"})
        assert created.status_code == 302 and AllowTerm.objects.filter(tenant=a, term="new term").exists()
        stranger = world.client.post(
            _url(Membership, "add/"), {"tenant": a.pk, "user": world.b.user.pk, "role": "viewer"}
        )
        assert stranger.status_code == 200 and "user" in stranger.context["adminform"].form.errors
        assert not Membership.objects.filter(tenant=a, user=world.b.user).exists()

    def test_tenants_cannot_be_added_by_a_tenant_administrator(self, world):
        assert world.client.get(_url(Tenant, "add/")).status_code == 403
        world.client.post(_url(Tenant, "add/"), {"slug": "mine", "name": "Mine", "home_region": HOME})
        assert not Tenant.objects.filter(slug="mine").exists()

    def test_user_and_group_admin_are_not_open_to_a_tenant_administrator(self, world):
        assert world.client.get("/admin/auth/user/").status_code == 403
        assert world.client.get(f"/admin/auth/user/{world.b.user.pk}/change/").status_code in (302, 403)
        query = {"app_label": "tenants", "model_name": "membership", "field_name": "user", "term": "c"}
        response = world.client.get("/admin/autocomplete/", query)
        assert response.status_code == 403


@pytest.mark.django_db
class TestReveal:
    def _grant(self, world: World) -> None:
        world.admin_user.user_permissions.add(Permission.objects.get(codename="reveal_pseudonym"))
        world.client.force_login(User.objects.get(pk=world.admin_user.pk))

    def test_reveal_of_another_tenants_entry_reveals_nothing(self, world):
        self._grant(world)
        b_entry = VaultEntry.objects.get(tenant=world.b.tenant)
        data = {"action": "reveal", "_selected_action": [b_entry.pk], "reveal_confirmed": "yes", "reason": "DSAR 7"}
        response = world.client.post(_url(VaultEntry), data, follow=True)
        assert "Kavya" not in response.content.decode()
        assert not AuditEvent.objects.filter(action__startswith="vault.reveal").exists()

    def test_reveal_asks_for_a_reason_and_audits_it(self, world):
        self._grant(world)
        a_entry = VaultEntry.objects.get(tenant=world.a.tenant)
        selected = {"action": "reveal", "_selected_action": [a_entry.pk]}
        asked = world.client.post(_url(VaultEntry), selected)
        assert asked.status_code == 200 and b'name="reason"' in asked.content and b"Kavya" not in asked.content
        empty = world.client.post(_url(VaultEntry), {**selected, "reveal_confirmed": "yes", "reason": "   "})
        assert empty.status_code == 200 and b"Kavya" not in empty.content and b"required" in empty.content
        assert not AuditEvent.objects.filter(action="vault.revealed").exists()
        shown = world.client.post(_url(VaultEntry), {**selected, "reveal_confirmed": "yes", "reason": "DSAR ticket 42"})
        assert shown.status_code == 200 and b"Kavya Iyer" in shown.content
        assert "no-store" in shown["Cache-Control"]
        event = AuditEvent.objects.get(action="vault.revealed")
        assert event.tenant == world.a.tenant and event.actor.username == "ann"
        assert event.actor_label == f"user:{event.actor_id}"
        assert event.details == {"entity_type": "PERSON", "reason": "DSAR ticket 42"}

    def test_the_service_needs_a_reason_and_caps_it(self, world):
        self._grant(world)
        user = User.objects.get(pk=world.admin_user.pk)
        token = VaultEntry.objects.get(tenant=world.a.tenant).token
        with pytest.raises(ServiceError) as refused:
            vault_reveal(tenant=world.a.tenant, token=token, actor=user, reason=" ")
        assert refused.value.code == "reason_required" and refused.value.status_code == 400
        assert vault_reveal(tenant=world.a.tenant, token=token, actor=user, reason="x" * 600) == "Kavya Iyer"
        assert AuditEvent.objects.get(action="vault.revealed").details["reason"] == "x" * 500

    def test_a_reason_that_names_the_person_reaches_the_audit_trail_redacted(self, world):
        self._grant(world)
        user = User.objects.get(pk=world.admin_user.pk)
        token = VaultEntry.objects.get(tenant=world.a.tenant).token
        reason = "Subject access request of Kavya Iyer (kavya.iyer@example.com), ticket 42"
        assert vault_reveal(tenant=world.a.tenant, token=token, actor=user, reason=reason) == "Kavya Iyer"
        stored = AuditEvent.objects.get(action="vault.revealed").details["reason"]
        assert "Kavya" not in stored and "kavya.iyer@" not in stored and "ticket 42" in stored

    def test_the_tenant_admin_group_does_not_grant_reveal(self, world):
        user = User.objects.get(pk=world.admin_user.pk)
        assert not user.has_perm("vault.reveal_pseudonym")
        page = world.client.get(_url(VaultEntry)).content.decode()
        assert 'value="reveal"' not in page


@pytest.mark.django_db
class TestBootstrapFlags:
    def test_staff_is_a_tenant_administrator_never_a_superuser(self):
        call_command(
            "bootstrap_tenant", "--tenant", "acme", "--user", "dana", "--role", "admin", "--staff", stdout=io.StringIO()
        )
        dana = User.objects.get(username="dana")
        assert dana.is_staff and not dana.is_superuser
        assert list(dana.groups.values_list("name", flat=True)) == [TENANT_ADMIN_GROUP]
        assert dana.has_perm("policies.change_entityrule") and dana.has_perm("tenants.add_membership")
        assert not dana.has_perm("vault.reveal_pseudonym") and not dana.has_perm("tenants.add_tenant")
        assert not any(perm.startswith("auth.") for perm in dana.get_all_permissions())
        # A second run (another tenant, the group refreshed) still makes no superuser.
        call_command(
            "bootstrap_tenant", "--tenant", "demo", "--user", "dana", "--role", "admin", "--staff", stdout=io.StringIO()
        )
        assert not User.objects.get(username="dana").is_superuser

    def test_staff_needs_the_admin_role(self):
        with pytest.raises(CommandError, match="--staff needs --role admin"):
            call_command("bootstrap_tenant", "--tenant", "acme", "--user", "eve", "--staff", stdout=io.StringIO())
        with pytest.raises(ValueError, match="--staff needs --role admin"):
            tenant_bootstrap(slug="acme", username="eve", role=Role.EDITOR, staff=True)
        assert not User.objects.filter(username="eve").exists()

    def test_operator_is_a_superuser_and_sees_every_tenant(self, world):
        out = io.StringIO()
        call_command(
            "bootstrap_tenant", "--tenant", "ops", "--user", "olga", "--role", "admin", "--operator", stdout=out
        )
        olga = User.objects.get(username="olga")
        assert olga.is_staff and olga.is_superuser
        client = Client()
        client.force_login(olga)
        for model, lookup in MODELS:
            shown = list(client.get(_url(model)).context["cl"].queryset)
            for tenant in (world.a.tenant, world.b.tenant):
                assert world.row(model, lookup, tenant) in shown, (model, tenant)
        b_term = AllowTerm.objects.get(tenant=world.b.tenant)
        assert client.get(_url(AllowTerm, f"{b_term.pk}/change/")).status_code == 200

    def test_the_help_documents_both_flags(self):
        help_text = Command().create_parser("manage.py", "bootstrap_tenant").format_help()
        assert "--operator" in help_text and "superuser" in help_text and "--role admin" in help_text
