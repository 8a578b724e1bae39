#!/usr/bin/env bash
# Install what the product needs (and, with --test, what the test suite needs) from the registries.
set -euo pipefail
cd "$(dirname "$0")/.."
WITH_TEST=0
[ "${1:-}" = "--test" ] && WITH_TEST=1

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/pip install -q --disable-pip-version-check -U pip 2>&1 | grep -v "^WARNING: Location" || true
if [ $WITH_TEST = 1 ]; then
  .venv/bin/pip install -q --disable-pip-version-check -e ".[test]" 2>&1 | grep -v "^WARNING: Location" || true
else
  .venv/bin/pip install -q --disable-pip-version-check -e . 2>&1 | grep -v "^WARNING: Location" || true
fi
.venv/bin/python -c "import sandbox, flask_babel, sqlalchemy" || { echo "error: Python dependencies failed to install" >&2; exit 1; }

# Translations are compiled here, never committed.
if ! out=$(.venv/bin/pybabel compile -d sandbox/translations 2>&1); then
  echo "$out" >&2; echo "error: the translation catalog does not compile" >&2; exit 1
fi

if [ $WITH_TEST = 1 ]; then
  need=()
  [ -x /usr/lib/chromium/chromium ] || need+=(chromium fonts-liberation fonts-noto-cjk)
  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
  if [ ${#need[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ]; then
      apt-get update -q >/dev/null
      DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null
    else
      echo "error: missing system packages: ${need[*]} (install them with apt-get as root)" >&2
      exit 1
    fi
  fi
  # Local copies of the CDN's Bootstrap, for browser tests that serve it by intercepting requests.
  if [ ! -f .cache/assets/bootstrap/package/dist/css/bootstrap.min.css ]; then
    mkdir -p .cache/assets/bootstrap
    (cd .cache/assets && npm pack --silent bootstrap@5.3.8 >/dev/null)
    tar xzf .cache/assets/bootstrap-5.3.8.tgz -C .cache/assets/bootstrap
  fi
fi

# Chart.js from the npm registry (never committed): served by the app itself with ASSET_BASE_URL=local
# (offline classrooms; Bootstrap then comes from the Bootstrap-Flask package), and by the browser tests.
# Keep its version in step with ASSETS in sandbox/config.py (the SRI hash is checked against this file).
ASSETS_DIR=${LOCAL_ASSET_DIR:-.cache/assets}
if [ ! -f "$ASSETS_DIR/chart.js/package/dist/chart.umd.js" ]; then
  if command -v npm >/dev/null 2>&1 && mkdir -p "$ASSETS_DIR/chart.js" \
      && (cd "$ASSETS_DIR" && npm pack --silent chart.js@4.4.7 >/dev/null) \
      && tar xzf "$ASSETS_DIR/chart.js-4.4.7.tgz" -C "$ASSETS_DIR/chart.js"; then
    :
  elif [ "${ASSET_BASE_URL:-}" = local ] || [ $WITH_TEST = 1 ]; then
    echo "error: could not fetch chart.js@4.4.7 from the npm registry into $ASSETS_DIR (needs npm and the network once)" >&2
    exit 1
  else
    echo "note: chart.js was not fetched (no npm or no network); only ASSET_BASE_URL=local needs it" >&2
  fi
fi

# FullCalendar likewise (the calendar page); keep its version in step with ASSETS in sandbox/config.py.
if [ ! -f "$ASSETS_DIR/fullcalendar/package/index.global.min.js" ]; then
  if command -v npm >/dev/null 2>&1 && mkdir -p "$ASSETS_DIR/fullcalendar" \
      && (cd "$ASSETS_DIR" && npm pack --silent fullcalendar@6.1.22 >/dev/null) \
      && tar xzf "$ASSETS_DIR/fullcalendar-6.1.22.tgz" -C "$ASSETS_DIR/fullcalendar"; then
    :
  elif [ "${ASSET_BASE_URL:-}" = local ] || [ $WITH_TEST = 1 ]; then
    echo "error: could not fetch fullcalendar@6.1.22 from the npm registry into $ASSETS_DIR (needs npm and the network once)" >&2
    exit 1
  else
    echo "note: fullcalendar was not fetched (no npm or no network); only ASSET_BASE_URL=local needs it" >&2
  fi
fi
