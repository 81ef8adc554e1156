#!/usr/bin/env bash
# First command of the README: install everything, then run the nightly load through Airflow
# on generated sample data, against the embedded PostgreSQL (or WORKLINK_DATABASE_URL).
set -euo pipefail
cd "$(dirname "$0")/.."
bash infra/install.sh
exec .venv/bin/worklink nightly "$@"
