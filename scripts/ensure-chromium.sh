#!/bin/sh
# The browser tests drive Debian's Chromium through Playwright (whose own browser download
# cannot work offline); install the package only when it is missing.
set -e
if command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ]; then
  exit 0
fi
echo "Installing Chromium for the browser tests (Debian package chromium)..."
if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
