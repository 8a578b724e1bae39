#!/usr/bin/env bash
# The whole test suite: lint, then every test on SQLite and on a real PostgreSQL server, browser included.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh --test
.venv/bin/ruff check sandbox seed bench tests
PGROOT=$(bash scripts/postgres.sh start)
trap 'bash scripts/postgres.sh stop "$PGROOT"' EXIT
export TEST_POSTGRES_URL="postgresql+psycopg://app:app@127.0.0.1:${PGPORT_TEST:-25432}/app"
.venv/bin/python -m pytest -n "${TEST_WORKERS:-2}" --durations=25 "$@"
