#!/usr/bin/env bash
# Runs the whole suite on SQLite, then on PostgreSQL (DATABASE_URL_PG, default: the local server)
# every test but those marked one_pass (no database of the run's: tests/conftest.py).
set -euo pipefail
cd "$(dirname "$0")/.."
export HF_HUB_OFFLINE=1 PAPERSCOPE_IGNORE_DOTENV=1
PG_URL="${DATABASE_URL_PG:-postgres://postgres@127.0.0.1:5432/test}"

./scripts/ensure-test-services.sh

echo "== tests on SQLite =="
env -u DATABASE_URL .venv/bin/pytest "$@"
echo "== tests on PostgreSQL ($PG_URL) =="
# Tests marked one_pass (tests/conftest.py: no database, or their own) ran above; not again here.
PAPERSCOPE_TEST_PASS=postgresql DATABASE_URL="$PG_URL" .venv/bin/pytest "$@"
