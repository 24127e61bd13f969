#!/usr/bin/env bash
# Installs the Debian packages Sprechstunde needs, when they are missing and we may (root).
# Usage: system-deps.sh [python|runtime|test|services|bench|clock]   (default: test)
#   services: PostgreSQL and Redis for the scaled-mode test run in .ci/run
#   clock: libfaketime for scripts/clock-sweep.sh
# With SYSTEM_DEPS_LIST=1 it installs nothing and prints the group's package names, one a line
# (scripts/sbom.py reads them for the SBOM).
set -euo pipefail
what="${1:-test}"

need=()
have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
want() {
  for p in "$@"; do
    if [ -n "${SYSTEM_DEPS_LIST:-}" ]; then echo "$p"; else have_pkg "$p" || need+=("$p"); fi
  done
}

# fonts-dejavu-core: DejaVu Sans covers Latin, Cyrillic, Arabic and Persian; WeasyPrint embeds it
# in every PDF (receipts, letters, decisions), so no font is fetched from anywhere.
case "$what" in
  python) want python3-venv python3-dev ;;
  runtime) want libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core ;;
  # test: ClamAV (clamd scans uploads), coturn (TURN relay tests), SoftHSM2 + OpenSC (PKCS#11 seals),
  # poppler-utils (pdfsig, the independent signature validator) + libnss3-tools (certutil: pdfsig's
  # trust store), iproute2/nftables (network emulation), nginx-light + systemd + openssl (the
  # deployment files in deploy/ are checked with nginx -t and systemd-analyze verify)
  # PDF/A check (ADR 0078): Apache PDFBox Preflight on a headless Java, plus the JAXB and
  # activation jars Java 11+ no longer ships; socat (the relay the fault tests stop and start in
  # front of the test TSA) and mount (the small tmpfs of the "disk full" tests)
  test) want libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core chromium gettext radicale redis-server \
    clamav clamav-daemon coturn softhsm2 opensc poppler-utils libnss3-tools iproute2 nftables \
    nginx-light systemd openssl default-jre-headless libpdfbox2-java libactivation-java libjaxb-api-java \
    socat mount ;;
  services) want postgresql postgresql-client redis-server ;;
  bench) want libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core wrk softhsm2 opensc \
    chromium coturn clamav-daemon iproute2 nftables ;;
  clock) want faketime ;;
  *) echo "unknown group: $what" >&2; exit 2 ;;
esac

[ -n "${SYSTEM_DEPS_LIST:-}" ] && exit 0
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO=sudo; else
    echo "Missing Debian packages: ${need[*]}. Install them with: apt-get install ${need[*]}" >&2
    exit 1
  fi
else
  SUDO=
fi
echo "Installing Debian packages: ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q >/dev/null
$SUDO apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null
