#!/usr/bin/env bash
# Installs the Debian packages the integration tests use, only when missing. Safe to run repeatedly.
set -euo pipefail
need=()
# (Issue-specific packages — haproxy, prometheus, prometheus-pushgateway, chromium — are added here as the tests that use them land.)
for pkg in "$@"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "missing packages: ${need[*]} (install them with apt-get as root)" >&2
    exit 1
  fi
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
