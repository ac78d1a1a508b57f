"""Hardened headers (issue 15): a Content-Security-Policy without 'unsafe-inline', which every page can live with
because no template carries an inline script, a style attribute or an on* handler; HSTS, the https redirect and
Secure cookies only when served over TLS; `check --deploy` and the OpenAPI schema clean under docker-compose's
production environment."""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.conf import settings as django_settings
from django.contrib import admin
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from cleanroom.policies.models import EntityRule, UncertainAction
from cleanroom.tenants.models import ApiToken, Role
from ingestion.models import Document
from retrieval.models import Conversation
from tests.conftest import Actor, ingest, make_actor, upload

ROOT = Path(__file__).resolve().parents[2]
POLICY = b"Parking policy.\n\nStaff may park in the north garage from 7 to 19 on weekdays with a permit.\n"
# A single given name below a raised PERSON threshold: only the second pass finds it, and HOLD keeps it for review.
MEMO = b"Plant memo\n\nThe boiler inspection was approved by Lakshmi after the audit. Tanvi leads the Surat unit."


# --- Inline code in HTML --------------------------------------------------------------------------------------


class _InlineFinder(HTMLParser):
    """Collects what script-src 'self' / style-src 'self' refuse: inline script bodies, <style> blocks, style
    attributes, on* handlers and javascript: URLs. JSON data blocks (json_script) are not executed and are fine."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self._in_script = False
        self._script_body = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        for name, value in attrs:
            if name == "style":
                self.problems.append(f"<{tag} style=...>")
            elif name.startswith("on"):
                self.problems.append(f"<{tag} {name}=...>")
            elif name in {"href", "src", "action", "formaction"} and (value or "").strip().lower().startswith(
                "javascript:"
            ):
                self.problems.append(f"<{tag} {name}=javascript:...>")
        if tag == "style":
            self.problems.append("<style> block")
        if tag == "script" and "src" not in named and "json" not in (named.get("type") or ""):
            self._in_script, self._script_body = True, ""

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self._script_body += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "script" and self._in_script:
            self._in_script = False
            if self._script_body.strip():
                self.problems.append(f"inline <script>: {self._script_body.strip()[:60]!r}")


def inline_code(html: str) -> list[str]:
    finder = _InlineFinder()
    finder.feed(html)
    finder.close()
    return finder.problems


def test_the_inline_finder_finds_what_the_policy_blocks():
    html = (
        '<div style="color:red"></div><button onclick="x()"></button><a href="javascript:void(0)">x</a>'
        "<script>alert(1)</script><style>p{}</style>"
        '<script src="/static/a.js"></script><script type="application/json" id="d">{"a": 1}</script>'
    )
    assert len(inline_code(html)) == 5
    assert inline_code('<p data-confirm="sure?" class="x">ok</p><script src="/s.js" defer></script>') == []


def _template_files() -> list[Path]:
    dirs = [ROOT / "templates", *(p for p in (ROOT / "cleanroom").rglob("templates") if p.is_dir())]
    dirs += [p for app in ("ingestion", "retrieval") for p in (ROOT / app).rglob("templates") if p.is_dir()]
    return sorted({f for d in dirs for f in d.rglob("*.html")})


@pytest.mark.parametrize("path", _template_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_template_has_inline_code(path):
    """Also covers templates the page walk below does not reach (admin overrides, error branches)."""
    assert inline_code(path.read_text()) == []


# --- Every page, rendered ---------------------------------------------------------------------------------------


def _named_patterns(resolver: URLResolver, namespace: str = "") -> list[tuple[str, URLPattern]]:
    found: list[tuple[str, URLPattern]] = []
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            inner = ":".join(filter(None, [namespace, entry.namespace or ""]))
            found += _named_patterns(entry, inner)
        elif entry.name:
            found.append((":".join(filter(None, [namespace, entry.name])), entry))
    return found


@pytest.fixture
def olga(db) -> Actor:
    """Admin of tenant A and of tenant C (so the tenant switch renders) and platform operator (Django admin)."""
    make_actor("tenant-c", "olga", Role.ADMIN)
    actor = make_actor("tenant-a", "olga", Role.ADMIN)
    actor.user.is_staff = actor.user.is_superuser = True
    actor.user.save()
    return actor


def _html(response: Any) -> str:
    assert response["Content-Type"].startswith("text/html"), response["Content-Type"]
    return response.content.decode()


@pytest.mark.django_db
def test_every_page_renders_without_inline_code_and_with_the_policy(olga, alice):
    """Each GET-able web page from the URL resolver, as a signed-in tenant admin with data on every page (an indexed,
    a queued and a held document, a conversation with an answer, members, tokens), then Django admin for every
    registered model, the login page and the refusal pages."""
    indexed = ingest(olga, "parking.txt", POLICY, title="Parking")
    EntityRule.objects.create(tenant=olga.tenant, entity_type="PERSON", threshold=0.7, uncertain=UncertainAction.HOLD)
    held = ingest(olga, "memo.txt", MEMO)
    # Uploaded after the ingests, whose batch would take it.
    queued = upload(olga, "queued.txt", b"Canteen hours: 8 to 15 on weekdays.", title="Queued")
    assert held.status == Document.Status.HELD and queued.in_progress
    client = Client()
    client.force_login(olga.user)
    client.post("/tenant", {"tenant": "tenant-a", "next": "/documents/"})
    assert client.post("/ask/", {"question": "Where can staff park on weekdays?", "top_k": 3}).status_code == 200
    conversation = Conversation.objects.get(tenant=olga.tenant)
    token = ApiToken.objects.filter(membership=olga.membership).first()
    assert token is not None
    ids = {
        "conversation_id": conversation.pk,
        "member_id": alice.membership.pk,
        "token_id": token.pk,
    }

    rendered: dict[str, str] = {}
    for name, pattern in _named_patterns(get_resolver()):
        if not name.startswith("web:"):
            continue
        converters = set(pattern.pattern.converters)
        documents = [indexed, queued, held] if "document_id" in converters else [None]
        for document in documents:
            kwargs = {k: str(v) for k, v in ids.items() if k in converters}
            if document is not None:
                kwargs["document_id"] = str(document.pk)
            url = reverse(name, kwargs=kwargs)
            response = client.get(url)
            if response.status_code != 200 or not response["Content-Type"].startswith("text/html"):
                continue  # a POST-only action, a redirect or a JSON endpoint
            rendered[url] = _html(response)
            assert "'unsafe-inline'" not in response["Content-Security-Policy"]
    for model in admin.site._registry:
        base = f"admin:{model._meta.app_label}_{model._meta.model_name}"
        urls = [reverse(f"{base}_changelist"), reverse(f"{base}_add")]
        first = model._default_manager.order_by("pk").first()
        if first is not None:
            urls.append(reverse(f"{base}_change", args=[first.pk]))
        for url in urls:
            response = client.get(url)
            if response.status_code == 200:
                rendered[url] = _html(response)
    rendered["/admin/"] = _html(client.get("/admin/"))
    rendered[f"/ask/?c={conversation.pk}"] = _html(client.get(f"/ask/?c={conversation.pk}"))  # its turns
    rendered["/accounts/login/"] = _html(Client().get("/accounts/login/"))
    viewer = Client()
    viewer.force_login(make_actor("tenant-a", "vera", Role.VIEWER).user)
    forbidden = viewer.get("/tenant/")
    assert forbidden.status_code == 403
    rendered["/tenant/ (viewer)"] = _html(forbidden)

    # The walk reached the pages that matter, each with the content that used to carry inline code.
    expected = {
        "/documents/",
        f"/documents/{indexed.pk}/",
        f"/documents/{queued.pk}/",
        "/review/",
        f"/review/{held.pk}/",
        "/ask/",
        "/tenant/",
        "/admin/ingestion/document/",
    }
    assert expected <= set(rendered), expected - set(rendered)
    assert any(url.startswith("/admin/ingestion/document/") and url.endswith("/change/") for url in rendered)
    assert "data-autosubmit" in rendered["/documents/"]  # two tenants: the switch renders
    assert 'data-reload-after="2000"' in rendered[f"/documents/{queued.pk}/"]
    assert "data-reload-after" not in rendered[f"/documents/{indexed.pk}/"]
    assert 'data-confirm="Delete this document' in rendered[f"/documents/{indexed.pk}/"]
    assert 'data-confirm="Revoke this token?' in rendered["/tenant/"]
    assert 'class="plain"' in rendered[f"/ask/?c={conversation.pk}"]  # the feedback form of the answer
    assert "cleanroom/page.js" in rendered["/documents/"]
    problems = {url: found for url, html in rendered.items() if (found := inline_code(html))}
    assert problems == {}
    assert len(rendered) > 20


# --- Response headers -------------------------------------------------------------------------------------------


def _policy(response: Any) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    return {d.split()[0]: d.split()[1:] for d in (p.strip() for p in header.split(";")) if d}


@pytest.mark.django_db
def test_the_policy_is_sent_on_pages_and_api_responses(client, alice):
    client.force_login(alice.user)
    page = client.get("/documents/")
    api = alice.client().get("/api/v1/documents")
    schema = Client().get("/api/v1/schema")
    missing = Client().get("/api/v1/documents/nope")
    for response in (page, api, schema, missing):
        policy = _policy(response)
        assert "'unsafe-inline'" not in response["Content-Security-Policy"]
        assert "'unsafe-eval'" not in response["Content-Security-Policy"]
        assert policy["default-src"] == ["'self'"]
        assert policy["script-src"] == ["'self'"] and policy["style-src"] == ["'self'"]
        assert policy["img-src"] == ["'self'", "data:"] and policy["connect-src"] == ["'self'"]
        assert policy["object-src"] == ["'none'"] and policy["base-uri"] == ["'none'"]
        assert policy["frame-ancestors"] == ["'none'"] and policy["form-action"] == ["'self'"]
        assert response["X-Frame-Options"] == "DENY"
        assert response["X-Content-Type-Options"] == "nosniff"
        assert response["Referrer-Policy"] == "same-origin"
        assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert api.status_code == 200 and missing.status_code in (401, 403, 404)


@pytest.mark.django_db
def test_plain_http_by_default_no_hsts_no_redirect_no_secure_cookies(client, alice):
    """`make run` serves plain http: nothing may assume TLS."""
    assert not django_settings.SECURE_TLS
    page = client.get("/accounts/login/")
    assert page.status_code == 200 and "Strict-Transport-Security" not in page
    assert "upgrade-insecure-requests" not in page["Content-Security-Policy"]
    login = client.post("/accounts/login/", {"username": "alice", "password": "correct-horse-42"})
    assert login.status_code == 302
    assert login.cookies["sessionid"]["secure"] == "" and login.cookies["csrftoken"]["secure"] == ""
    assert login.cookies["sessionid"]["httponly"] is True and login.cookies["sessionid"]["samesite"] == "Lax"


TLS_SETTINGS = (
    "SECURE_TLS",
    "SECURE_PROXY_SSL_HEADER",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_HSTS_PRELOAD",
    "SECURE_SSL_REDIRECT",
    "SECURE_REDIRECT_EXEMPT",
    "SESSION_COOKIE_SECURE",
    "CSRF_COOKIE_SECURE",
    "CONTENT_SECURITY_POLICY",
)


def _settings_under(env: dict[str, str]) -> dict[str, Any]:
    """What cleanroom/settings.py makes of this environment (importing it only reads, see its docstring)."""
    code = (
        "import json, cleanroom.settings as s; "
        f"print(json.dumps({{n: getattr(s, n, None) for n in {list(TLS_SETTINGS)!r}}}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env={**os.environ, **env},
        check=True,
    )
    return json.loads(result.stdout)


@pytest.fixture
def tls_settings(settings):
    """The settings DJANGO_SECURE_TLS=true behind a proxy yields, applied to this process (a fresh test client
    builds its middleware from them)."""
    values = _settings_under({"DJANGO_SECURE_TLS": "true", "DJANGO_SECURE_PROXY_SSL_HEADER": "X-Forwarded-Proto"})
    values["SECURE_PROXY_SSL_HEADER"] = tuple(values["SECURE_PROXY_SSL_HEADER"])
    for name, value in values.items():
        setattr(settings, name, value)
    return values


def test_tls_environment_turns_on_hsts_redirect_and_secure_cookies():
    values = _settings_under({"DJANGO_SECURE_TLS": "true"})
    assert values["SECURE_HSTS_SECONDS"] == 31_536_000 and values["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is True
    assert values["SECURE_SSL_REDIRECT"] is True and values["SESSION_COOKIE_SECURE"] is True
    assert values["CSRF_COOKIE_SECURE"] is True and values["SECURE_PROXY_SSL_HEADER"] is None
    tuned = _settings_under(
        {
            "DJANGO_SECURE_TLS": "true",
            "DJANGO_SECURE_SSL_REDIRECT": "false",
            "DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS": "false",
            "DJANGO_SECURE_HSTS_SECONDS": "600",
        }
    )
    assert tuned["SECURE_SSL_REDIRECT"] is False and tuned["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is False
    assert tuned["SECURE_HSTS_SECONDS"] == 600 and tuned["SESSION_COOKIE_SECURE"] is True
    plain = _settings_under({"DJANGO_SECURE_TLS": ""})
    assert plain["SECURE_HSTS_SECONDS"] == 0 and plain["SECURE_SSL_REDIRECT"] is False
    assert plain["SESSION_COOKIE_SECURE"] is False


@pytest.mark.django_db
def test_over_tls_hsts_and_secure_cookies(tls_settings, alice):
    client = Client()
    page = client.get("/accounts/login/", secure=True)
    assert page.status_code == 200
    assert page["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    assert "upgrade-insecure-requests" in page["Content-Security-Policy"]
    assert page.cookies["csrftoken"]["secure"] is True
    login = client.post("/accounts/login/", {"username": "alice", "password": "correct-horse-42"}, secure=True)
    assert login.status_code == 302
    session = login.cookies["sessionid"]
    assert session["secure"] is True and session["httponly"] is True and session["samesite"] == "Lax"
    assert client.get("/documents/", secure=True).status_code == 200


@pytest.mark.django_db
def test_behind_the_proxy_http_redirects_and_the_forwarded_proto_counts(tls_settings):
    client = Client()
    plain = client.get("/accounts/login/?next=/ask/")
    assert plain.status_code == 301
    assert plain["Location"] == "https://testserver/accounts/login/?next=/ask/"
    assert "Strict-Transport-Security" not in plain  # HSTS means nothing over http; browsers ignore it there
    proxied = client.get("/accounts/login/", HTTP_X_FORWARDED_PROTO="https")
    assert proxied.status_code == 200 and "Strict-Transport-Security" in proxied
    # Probes inside the network call /healthz over http: no redirect.
    assert client.get("/healthz").status_code in (200, 503)


# --- docker-compose's production environment --------------------------------------------------------------------

_INTERPOLATION = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}")


def _interpolate(value: str, env: dict[str, str]) -> str:
    """Compose's ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?error} and ${VAR?error}."""

    def one(match: re.Match[str]) -> str:
        name, op, arg = match["name"], match["op"] or "", match["arg"] or ""
        present = name in env and (env[name] != "" or not op.startswith(":"))
        if present:
            return env[name]
        if op.endswith("?"):
            raise AssertionError(f"docker-compose needs {name}: {arg}")
        return arg if op.endswith("-") else ""

    return _INTERPOLATION.sub(one, value)


def compose_web_environment(secrets_env: dict[str, str]) -> dict[str, str]:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    environment = compose["services"]["web"]["environment"]
    assert isinstance(environment, dict)
    return {key: _interpolate(str(value), secrets_env) for key, value in environment.items()}


@pytest.fixture(scope="module")
def production_env(tmp_path_factory) -> dict[str, str]:
    """The `web` service's environment with what an operator supplies (placeholders for the secrets), plus a data
    dir of its own. DATABASE_URL names the compose host `db`: neither command below connects to it."""
    supplied = {
        "POSTGRES_PASSWORD": secrets.token_urlsafe(24),
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "CLEANROOM_VAULT_KEY": secrets.token_urlsafe(48),
    }
    env = compose_web_environment(supplied)
    assert env["DJANGO_SECURE_TLS"] == "true" and env["DJANGO_SECURE_PROXY_SSL_HEADER"] == "X-Forwarded-Proto"
    assert env["DJANGO_SECRET_KEY"] == supplied["DJANGO_SECRET_KEY"] and env["DATABASE_URL"].startswith("postgres://")
    return {
        **env,
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "CLEANROOM_DATA_DIR": str(tmp_path_factory.mktemp("production-data")),
        "CLEANROOM_WARMUP": "0",
        "PYTHONDONTWRITEBYTECODE": "1",
    }


def _manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", *args], capture_output=True, text=True, timeout=180, cwd=ROOT, env=env
    )


def test_check_deploy_is_clean_under_the_compose_production_environment(production_env):
    result = _manage(production_env, "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout, result.stdout + result.stderr
    assert "WARNING" not in result.stderr.upper()


def test_check_deploy_still_reports_a_weak_secret_key(production_env):
    """The check really runs with these settings: a short key is caught."""
    result = _manage({**production_env, "DJANGO_SECRET_KEY": "short"}, "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode != 0 and "security.W009" in result.stdout + result.stderr


def test_openapi_schema_validates_without_warnings(production_env, tmp_path):
    schema_file = tmp_path / "schema.json"
    result = _manage(
        production_env,
        "spectacular",
        "--validate",
        "--fail-on-warn",
        "--format",
        "openapi-json",
        "--file",
        str(schema_file),
    )
    assert result.returncode == 0, result.stderr
    assert "warning" not in result.stderr.lower() and "error" not in result.stderr.lower(), result.stderr
    schema = json.loads(schema_file.read_text())
    assert schema["components"]["securitySchemes"]["ApiToken"]["in"] == "header"
