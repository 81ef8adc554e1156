#!/usr/bin/env bash
# Headless browser for the evaluation-report rendering test (tests/report/) and the upload page's
# browser test (tests/portal/, Playwright driving this chromium; Playwright downloads no browser):
# Debian's chromium.
# Idempotent: does nothing when /usr/bin/chromium is already there. Needs root (or sudo) to install.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "install_browser.sh: /usr/bin/chromium is missing and we are not root; install Debian's 'chromium' package" >&2
    exit 1
  fi
fi
printf '\033[36m==> installing chromium (Debian package) for the report rendering test\033[0m\n' >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
/usr/bin/chromium --version >&2
