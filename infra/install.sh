#!/usr/bin/env bash
# Install everything worklink needs into .venv (idempotent; fast when already installed).
#   - uv (into .worklink/tools, not the system Python) and the locked environment from uv.lock,
#     byte-code compiled (without .pyc files every Airflow/dbt process start costs 2-3 s more);
#   - PostgreSQL server binaries for the embedded warehouse, from Debian's packages, when missing
#     and no WORKLINK_DATABASE_URL is set.
# Usage: bash infra/install.sh [--production]
#   --production: the locked runtime only (no dev tools) and no PostgreSQL server binaries, for a
#                 deployment that brings its own database; the container image (infra/Dockerfile)
#                 runs this script with it.
set -euo pipefail
cd "$(dirname "$0")/.."

PRODUCTION=0
for arg in "$@"; do
  case "$arg" in
    --production) PRODUCTION=1 ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) echo "unknown option: $arg (bash infra/install.sh --help)" >&2; exit 2 ;;
  esac
done

say() { printf '\033[36m==> %s\033[0m\n' "$*" >&2; }

PYTHON=${WORKLINK_PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3
"$PYTHON" -c 'import sys; assert sys.version_info[:2] == (3, 11), sys.version' \
  || { echo "worklink needs Python 3.11 (set WORKLINK_PYTHON)" >&2; exit 1; }

UV=.worklink/tools/bin/uv
if [ ! -x "$UV" ]; then
  say "installing uv into .worklink/tools"
  "$PYTHON" -m venv .worklink/tools
  .worklink/tools/bin/pip install --quiet --disable-pip-version-check uv
fi

if [ "$PRODUCTION" = 0 ] && [ -z "${WORKLINK_DATABASE_URL:-}" ] && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 \
   && ! command -v initdb >/dev/null 2>&1 && [ -z "${WORKLINK_PG_BINDIR:-}" ]; then
  if [ "$(id -u)" = 0 ]; then
    say "installing PostgreSQL server binaries (Debian package postgresql)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  else
    echo "PostgreSQL server binaries not found: install Debian's 'postgresql' package, or set" \
         "WORKLINK_DATABASE_URL to an existing server." >&2
    exit 1
  fi
fi

# pgaudit, for the access audit of the identity vault (worklink audit report), beside the server
# binaries the embedded PostgreSQL uses. Without it the platform runs, and says the audit is off.
if [ "$PRODUCTION" = 0 ] && [ -z "${WORKLINK_DATABASE_URL:-}" ] && [ -z "${WORKLINK_PG_BINDIR:-}" ] \
   && [ "$(id -u)" = 0 ]; then
  major=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k5 -n | tail -1 | cut -d/ -f5)
  if [ -n "$major" ] && [ ! -f "/usr/lib/postgresql/$major/lib/pgaudit.so" ]; then
    say "installing pgaudit (Debian package postgresql-$major-pgaudit) for the access audit"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "postgresql-$major-pgaudit" >/dev/null 2>&1 \
      || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "postgresql-$major-pgaudit" >/dev/null; } \
      || echo "pgaudit could not be installed: the access audit stays off" >&2
  fi
fi

# Redis, the Celery broker for WORKLINK_EXECUTOR=celery (worklink.platform.redis_server starts its own
# on 127.0.0.1 with a password; Debian's package may not start a service of its own without systemd).
if ! command -v redis-server >/dev/null 2>&1 && [ ! -x /usr/sbin/redis-server ]; then
  if [ "$(id -u)" = 0 ]; then
    say "installing Redis (Debian package redis-server) for the CeleryExecutor"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null 2>&1 \
      || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null; } \
      || echo "redis-server could not be installed: WORKLINK_EXECUTOR=celery will not work here" >&2
  else
    echo "redis-server not found (Debian package redis-server): only needed for WORKLINK_EXECUTOR=celery" >&2
  fi
fi

SYNC=(sync --frozen --python "$PYTHON" --quiet)
[ "$PRODUCTION" = 1 ] && SYNC+=(--no-dev)
say "syncing .venv from uv.lock"
UV_PYTHON_DOWNLOADS=never UV_COMPILE_BYTECODE=1 "$UV" "${SYNC[@]}"
say "environment ready: .venv/bin/worklink --help"
