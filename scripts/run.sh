#!/usr/bin/env bash
# Install, create the SQLite database, load the demo classroom once, and serve on 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
.venv/bin/sandbox init-db
if .venv/bin/sandbox demo ${DEMO_PASSWORD:+--password "$DEMO_PASSWORD"} > instance/demo-accounts.txt 2> instance/demo.err; then
  echo "Demo classroom created. Sign in with one of these accounts (also saved in instance/demo-accounts.txt):"
else
  grep -q "already has users" instance/demo.err || { cat instance/demo.err >&2; exit 1; }
  echo "Existing database kept. The demo accounts are listed in instance/demo-accounts.txt:"
  [ -s instance/demo-accounts.txt.first ] && cp instance/demo-accounts.txt.first instance/demo-accounts.txt
fi
[ -s instance/demo-accounts.txt ] && [ ! -e instance/demo-accounts.txt.first ] && cp instance/demo-accounts.txt instance/demo-accounts.txt.first
cat instance/demo-accounts.txt
exec .venv/bin/sandbox serve --host 127.0.0.1 --port "${PORT:-5000}"
