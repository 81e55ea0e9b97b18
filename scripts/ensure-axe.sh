#!/bin/sh
# The browser tests run axe-core (the accessibility engine, from the npm registry) in every
# page: install the pinned version into .npm/ (git-ignored) when it is not there yet.
set -e
AXE_VERSION=4.14.1
DIR="$(dirname "$0")/../.npm"
if [ -f "$DIR/node_modules/axe-core/axe.min.js" ] && \
   grep -q "\"version\": \"$AXE_VERSION\"" "$DIR/node_modules/axe-core/package.json"; then
  exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
  echo "Installing npm for axe-core (Debian package npm)..."
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq npm >/dev/null
fi
npm install --silent --no-audit --no-fund --no-save --prefix "$DIR" "axe-core@$AXE_VERSION"
