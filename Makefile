# Provenance — the two front-door commands are `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: demo lti-demo test test-quick lint format browser-test check-python venv install install-test clean serve

check-python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' || { \
	  echo "Python >= 3.12 is needed (found $$($(PYTHON) --version 2>&1)). With pyenv, the .python-version file picks it."; exit 1; }

$(PY): | check-python
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(PY)
	$(PIP) install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(PY)
	$(PIP) install --quiet -e ".[test]"
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

demo: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py import_sources fixtures/
	$(PY) manage.py seed_demo
	@echo "Serving on http://$(HOST):$(PORT)/ with the background worker beside it (Ctrl-C stops both)"
	$(PY) manage.py db_worker --no-startup-delay & worker=$$!; \
	  trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
	  $(PY) manage.py runserver $(HOST):$(PORT)

# The tool on 127.0.0.1:8000 and a minimal LTI 1.3 platform (lti_platform/) on localhost:8100, so
# the platform frames the tool cross-site as a school's LMS would. Open http://localhost:8100/.
LTI_PLATFORM_PORT ?= 8100
lti-demo: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py import_sources fixtures/
	$(PY) manage.py seed_demo
	$(PY) manage.py lti_keys
	$(PY) manage.py lti_demo_register --platform-url http://localhost:$(LTI_PLATFORM_PORT)
	@echo "The demo LMS: http://localhost:$(LTI_PLATFORM_PORT)/  (the tool: http://$(HOST):$(PORT)/; Ctrl-C stops all)"
	$(PY) manage.py db_worker --no-startup-delay & worker=$$!; \
	  LTI_DEMO_TOOL_URL=http://$(HOST):$(PORT) LTI_DEMO_PLATFORM_URL=http://localhost:$(LTI_PLATFORM_PORT) \
	  DJANGO_SETTINGS_MODULE=lti_platform.settings $(PY) manage.py runserver localhost:$(LTI_PLATFORM_PORT) --noreload & platform=$$!; \
	  trap 'kill $$worker $$platform 2>/dev/null' EXIT INT TERM; \
	  $(PY) manage.py runserver $(HOST):$(PORT)

# Everything but the browser tests when Chromium is missing (they skip themselves). The tests that
# need no browser run on every core (pytest-xdist, a database per worker); the browser tests after
# them, one at a time.
test: install-test
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) manage.py makemigrations --check --dry-run
	$(VENV)/bin/pytest -q -n auto -m "not browser" $(PYTEST_ARGS)
	$(VENV)/bin/pytest -q -m browser $(PYTEST_ARGS)

# The local loop: no lint, no browser, the test database kept between runs (migrations still
# apply), last run's failures first. `make test-quick PYTEST_ARGS=--lf` runs only those.
test-quick: install-test
	$(VENV)/bin/pytest -q -n auto -m "not browser" --reuse-db --failed-first $(PYTEST_ARGS)

browser-test: install-test
	$(VENV)/bin/pytest -q -m browser $(PYTEST_ARGS)

lint: install-test
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install-test
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

clean:
	rm -rf $(VENV) staticfiles db.sqlite3 db.sqlite3-wal db.sqlite3-shm

# --- Benchmark and scale-out (bench/, README "Performance" and "Production shape") ----------
# Both need PostgreSQL on 127.0.0.1:5432 (user postgres, as .ci/run starts it) and talk only to
# 127.0.0.x. `make bench` creates and seeds the database provenance_bench (kept between runs;
# BENCH_ARGS=--reseed starts again), stops by itself within 10 minutes, prints the table and
# writes bench/results.json. `make scaleout` runs two instances behind haproxy (installed with
# apt-get if missing), then measures G9 (2 instances x 2 workers vs 1 x 4, informational;
# SCALEOUT_ARGS=--no-g9 skips it), stops by itself within 5 minutes, writes
# /tmp/provenance-bench/scaleout.json and exits non-zero if any check fails.
.PHONY: bench scaleout explain install-bench

$(VENV)/.installed-bench: pyproject.toml | $(PY)
	$(PIP) install --quiet -e ".[bench]"
	touch $@ $(VENV)/.installed

install-bench: $(VENV)/.installed-bench

bench: install-bench
	timeout --kill-after=20 600 $(PY) bench/run.py $(BENCH_ARGS)

scaleout: install-bench
	timeout --kill-after=20 300 $(PY) bench/scaleout.py $(SCALEOUT_ARGS)

# EXPLAIN ANALYZE of every query of the busy pages on the bench data (run `make bench` first).
explain: install-bench
	DJANGO_DEBUG=0 DJANGO_SECRET_KEY="$$($(PY) -c 'import secrets; print(secrets.token_urlsafe(50))')" \
	DJANGO_ALLOWED_HOSTS=127.0.0.1 DJANGO_SECURE_SSL_REDIRECT=0 DJANGO_LOG_LEVEL=ERROR \
	DATABASE_URL=postgres://postgres@127.0.0.1:5432/provenance_bench \
	timeout 300 $(PY) bench/explain.py $(EXPLAIN_ARGS)

# --- Reliability under load and crashes (trust/; docs/quality.md T8, T9, T12, T13) ---------
# Real gunicorn (4 sync workers, production settings) against a private throw-away PostgreSQL
# cluster (needs the server binaries, not a running server). Stops by itself in < 10 minutes,
# prints a table, writes trust/results.json.
.PHONY: trust
trust: install-test
	PROVENANCE_TRUST=1 timeout --kill-after=10 590 $(VENV)/bin/pytest -q -p no:randomly -m trust tests/trust $(PYTEST_ARGS)
