#!/bin/sh
# The web benchmark loads `los serve` with wrk (Debian package wrk); install it only when it
# is missing.
set -e
if command -v wrk >/dev/null 2>&1; then
  exit 0
fi
echo "Installing wrk for the web benchmark (Debian package wrk)..."
if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq wrk >/dev/null
