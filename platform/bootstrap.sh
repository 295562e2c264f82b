#!/usr/bin/env bash
# Ensure .venv exists (Python 3.11+) and holds requirements.txt.
#
#   bash platform/bootstrap.sh
#
# pip only runs when requirements.txt changed since the last successful install: its sha256
# is kept in .venv/.requirements.sha256.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
VENV=$ROOT/.venv
STAMP=$VENV/.requirements.sha256
REQ=$ROOT/requirements.txt

log() { printf 'bootstrap: %s\n' "$*"; }
die() { printf 'bootstrap: error: %s\n' "$*" >&2; exit 1; }

is_311_plus() { "$1" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; }

# 1. the venv itself; a venv whose python no longer runs (moved, base python gone) is rebuilt
if [[ -x $VENV/bin/python ]] && is_311_plus "$VENV/bin/python"; then
  log ".venv present ($("$VENV/bin/python" -V 2>&1))"
else
  py=
  if command -v python3.11 >/dev/null; then
    py=$(command -v python3.11)
  elif command -v python3 >/dev/null && is_311_plus python3; then
    py=$(command -v python3)
  fi
  [[ -n $py ]] || die "need python3.11 (or a python3 >= 3.11) on PATH"
  # Debian's python ships venv/ensurepip separately (python3.11-venv)
  if ! "$py" -c 'import ensurepip, venv' 2>/dev/null; then
    log "$py lacks ensurepip; installing python3-venv"
    bash "$ROOT/platform/apt.sh" venv
  fi
  log "creating .venv with $py ($("$py" -V 2>&1))"
  rm -rf "$VENV"
  "$py" -m venv "$VENV"
  rm -f "$STAMP"
fi

# 2. the requirements
[[ -f $REQ ]] || die "no requirements.txt in $ROOT"
want=$(sha256sum "$REQ" | cut -d' ' -f1)
have=$(cat "$STAMP" 2>/dev/null || true)
if [[ $want == "$have" ]]; then
  log "requirements up to date"
  exit 0
fi
log "installing requirements.txt (pip, log in .venv/pip-install.log)"
# pip's own chatter (index warnings, progress) goes to the log; shown only on failure
if ! "$VENV/bin/python" -m pip install --disable-pip-version-check --no-input -r "$REQ" \
  >"$VENV/pip-install.log" 2>&1; then
  tail -n 30 "$VENV/pip-install.log" >&2
  die "pip install failed (full log: $VENV/pip-install.log)"
fi
printf '%s\n' "$want" >"$STAMP"
log "requirements installed"
