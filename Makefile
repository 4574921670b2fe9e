# Paperscope: `make run` sets everything up and serves the demo; `make test` runs every test.
VENV ?= .venv
PY := $(VENV)/bin/python
PYTHON ?= python3
HOST ?= 127.0.0.1:8000
export HF_HUB_OFFLINE := 1

.PHONY: run test test-fast typecheck serve demo-data

# pip itself is pinned too: the venv's bundled pip varies with the Python that made it.
PIP_VERSION := 26.3

$(VENV)/.installed: requirements.txt requirements-dev.txt
	@echo "==> Creating $(VENV) and installing the pinned requirements (first run only; a few minutes)"
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install -q "pip==$(PIP_VERSION)"
	$(VENV)/bin/pip install -q -r requirements-dev.txt
	touch $@

# Each step says what it does; the slow ones say so before they start.
demo-data: $(VENV)/.installed
	@echo "==> Database: SQLite under var/ (applying migrations)"
	@$(PY) manage.py migrate --noinput -v 0
	@echo "==> Importing the sample papers and embedding them in this process (no broker needed)."
	@echo "    First run only: the packaged model is exported for OpenVINO once (about a minute)."
	@$(PY) manage.py import_papers samples/hf-papers-listing.txt samples/arxiv-sample-300.jsonl
	@$(PY) manage.py embed_papers --missing
	@$(PY) manage.py build_index
	@echo "==> Static files, served by whitenoise as in production"
	@$(PY) manage.py collectstatic --noinput -v 0

# DEBUG off, as in production: whitenoise serves the static files, errors get the friendly
# 404/500 pages. Django's development server (one process) serves it on localhost only.
run: demo-data
	@echo "==> Paperscope is at http://$(HOST)/ (DEBUG off; Ctrl-C stops it)"
	@DEBUG=0 $(PY) manage.py serve --noreload $(HOST)

test: $(VENV)/.installed
	./scripts/test.sh

# The edit-run loop: SQLite only, two processes, without the browser, the fault tests (real
# processes killed mid-run), the production proofs (tests/prod) and the tests marked slow. `make test` stays the whole suite (CI).
test-fast: $(VENV)/.installed
	HF_HUB_OFFLINE=1 PAPERSCOPE_IGNORE_DOTENV=1 env -u DATABASE_URL \
	  $(VENV)/bin/pytest -q -n 2 -p no:warnings -m "not browser and not slow and not fault and not prod" $(ARGS)

# mypy with django-stubs over the application code (mypy.ini); CI runs it.
typecheck: $(VENV)/.installed
	HF_HUB_OFFLINE=1 PAPERSCOPE_IGNORE_DOTENV=1 $(VENV)/bin/mypy

# --- Production checks. Short versions run in CI (.ci/run); these are the long ones.
.PHONY: prod-checks deploy-check security-lint audit fuzz load compose-smoke
# Application code only: tests use assert and subprocess by design (docs/security.md).
SECURITY_LINT_IGNORES := lint.per-file-ignores = {"papers/importers/arxiv_atom.py" = ["S314"], "search/explain.py" = ["S308"], "search/tasks.py" = ["S311"], "library/selectors.py" = ["S311"], "bench/*.py" = ["S101", "S603", "S608"], "bench/recommendations.py" = ["S311"], "bench/management/commands/bench_*.py" = ["S311", "S603"]}

prod-checks: deploy-check security-lint audit

deploy-check: $(VENV)/.installed
	set -a && . ./.env.example && set +a && \
	SECRET_KEY="$$($(PY) -c 'import secrets; print(secrets.token_urlsafe(50))')" PAPERSCOPE_IGNORE_DOTENV=1 \
	$(PY) manage.py check --deploy --fail-level WARNING

security-lint: $(VENV)/.installed
	$(VENV)/bin/ruff check --isolated --no-cache --select S --output-format concise \
	  --config '$(SECURITY_LINT_IGNORES)' config papers search harvest accounts library bench scripts manage.py
	$(VENV)/bin/hadolint Dockerfile

audit: $(VENV)/.installed
	$(PY) scripts/pip_audit_report.py

fuzz: $(VENV)/.installed
	FUZZ_EXAMPLES=2000 FUZZ_RANDOM=1 PAPERSCOPE_IGNORE_DOTENV=1 DATABASE_URL=$${DATABASE_URL_PG:-postgres://postgres@127.0.0.1:5432/test} \
	  $(VENV)/bin/pytest tests/prod/test_api_fuzzing_finds_no_server_errors.py -q -s -p no:warnings

load: $(VENV)/.installed
	mkdir -p var
	PAPERSCOPE_IGNORE_DOTENV=1 DATABASE_URL=$${DATABASE_URL_PG:-postgres://postgres@127.0.0.1:5432/test} \
	  nice -n 10 $(PY) -m tests.prod.loadtest --clients 50 --duration 60 --json var/load-test.json

# The production image built and the whole Compose stack run here, end to end, with no image
# registry (needs root: installs and starts dockerd when missing). docs/security.md has a run.
compose-smoke:
	./scripts/compose-smoke.sh
