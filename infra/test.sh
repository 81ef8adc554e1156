#!/usr/bin/env bash
# Second command of the README (and what CI runs): install, lint (ruff, SQLFluff), then the whole test suite
# against a real PostgreSQL (the embedded one unless WORKLINK_DATABASE_URL is set).
set -euo pipefail
cd "$(dirname "$0")/.."
bash infra/install.sh
bash infra/install_browser.sh   # Debian's chromium, for the report rendering test
printf '\033[36m==> ruff\033[0m\n' >&2
.venv/bin/ruff check .
printf '\033[36m==> sqlfluff (dbt models, dbt templater)\033[0m\n' >&2
.venv/bin/worklink lint-sql
printf '\033[36m==> pytest\033[0m\n' >&2
set +e
.venv/bin/pytest "$@"
status=$?
set -e
if [ "$status" -eq 5 ]; then
  echo "pytest collected no tests: treating as a failure" >&2
  exit 1
fi
exit "$status"
