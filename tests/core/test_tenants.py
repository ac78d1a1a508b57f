from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from rest_framework.test import APIClient

from cleanroom.tenants.models import ApiToken, Membership, Tenant


@pytest.mark.django_db
class TestBootstrapTenant:
    def test_creates_everything_and_prints_a_working_token_last(self):
        out = io.StringIO()
        call_command("bootstrap_tenant", "--tenant", "acme", "--user", "dana", "--role", "admin", stdout=out)
        key = out.getvalue().strip().splitlines()[-1]
        assert Tenant.objects.filter(slug="acme").exists()
        assert Membership.objects.get(user__username="dana").role == "admin"
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
        assert client.get("/api/v1/documents").status_code == 200

    def test_second_run_reuses_and_updates_the_role(self):
        call_command("bootstrap_tenant", "--tenant", "acme", "--user", "dana", "--role", "viewer", stdout=io.StringIO())
        call_command("bootstrap_tenant", "--tenant", "acme", "--user", "dana", "--role", "editor", stdout=io.StringIO())
        assert Tenant.objects.count() == 1
        assert Membership.objects.get().role == "editor"
        assert ApiToken.objects.count() == 2

    def test_bad_slug_is_refused(self):
        with pytest.raises(CommandError):
            call_command("bootstrap_tenant", "--tenant", "Not A Slug!", "--user", "x", stdout=io.StringIO())
