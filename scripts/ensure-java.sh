#!/bin/sh
# Spark sources run Spark SQL in a JVM (PySpark 4 needs Java 17 or newer); the tests start Spark
# local[*]. Install Debian's Java runtime only when no Java that new is there.
set -e
java_major() {
  # 17 for 'version "17.0.15"', 8 for 'version "1.8.0_402"'; 0 when java is missing or mute.
  "$1" -version 2>&1 | sed -n 's/.*version "\([0-9]*\)\.\{0,1\}\([0-9]*\).*/\1 \2/p' | head -n 1 |
    awk '{ if ($1 == 1) print $2 + 0; else print $1 + 0 }'
}
JAVA="${JAVA_HOME:+$JAVA_HOME/bin/}java"
if command -v "$JAVA" >/dev/null 2>&1 && [ "$(java_major "$JAVA")" -ge 17 ] 2>/dev/null; then
  exit 0
fi
echo "Installing a Java runtime for Spark sources (Debian package default-jre-headless)..."
if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq default-jre-headless >/dev/null
# An older Debian's default runtime is Java 11: take 17 by name there.
if [ "$(java_major java)" -lt 17 ] 2>/dev/null; then
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq openjdk-17-jre-headless >/dev/null
  JAVA17=$(ls -d /usr/lib/jvm/java-17-openjdk-*/bin/java 2>/dev/null | head -n 1)
  if [ -n "$JAVA17" ]; then $SUDO update-alternatives --set java "$JAVA17" >/dev/null; fi
fi
