#!/usr/bin/env bash
# Install the Debian packages the runtime needs, but only those that are missing.
#
#   bash platform/apt.sh [postgres] [redis] [chromium] [venv]
#
# Without arguments: postgres redis chromium. `venv` (python3.11-venv, for Debian's own
# python without ensurepip) is only installed when asked for; bootstrap.sh asks when needed.
# `apt-get update` runs once, and only if something is missing.
set -euo pipefail

log() { printf 'apt: %s\n' "$*"; }
die() { printf 'apt: error: %s\n' "$*" >&2; exit 1; }

# PostgreSQL server binaries: Debian puts them in /usr/lib/postgresql/<major>/bin, off PATH.
# pg_config (libpq-dev) may exist without the server, so look for initdb itself.
have_pg_server() {
  local d
  d=$(pg_config --bindir 2>/dev/null || true)
  [[ -n $d && -x $d/initdb && -x $d/postgres ]] && return 0
  compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null
}
have_redis() { command -v redis-server >/dev/null && command -v redis-cli >/dev/null; }
have_chromium() { [[ -x /usr/bin/chromium ]]; }
have_venv() { python3 -c 'import ensurepip, venv' 2>/dev/null; }

targets=("$@")
[[ ${#targets[@]} -gt 0 ]] || targets=(postgres redis chromium)

missing=()
for t in "${targets[@]}"; do
  case $t in
    postgres|postgresql) have_pg_server || missing+=(postgresql) ;;
    redis)               have_redis     || missing+=(redis-server redis-tools) ;;
    # chromium only recommends chromium-sandbox (not needed headless); a font makes
    # screenshots readable in e2e tests.
    chromium)            have_chromium  || missing+=(chromium fonts-liberation) ;;
    venv)                have_venv      || missing+=(python3-venv) ;;
    *) die "unknown target '$t' (expected postgres, redis, chromium, venv)" ;;
  esac
done

if [[ ${#missing[@]} -eq 0 ]]; then
  log "present: ${targets[*]}"
  exit 0
fi

sudo=()
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || die "missing packages (${missing[*]}) and not root; install them or run as root"
  sudo=(sudo)
fi
command -v apt-get >/dev/null || die "missing packages (${missing[*]}) and no apt-get on this machine"

export DEBIAN_FRONTEND=noninteractive
log "installing ${missing[*]}"
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
log "installed ${missing[*]}"
