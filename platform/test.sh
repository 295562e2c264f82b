#!/usr/bin/env bash
# The test command (README, CI): lint, checks and the pytest suite against real services.
#
#   bash platform/test.sh [pytest args...]
#
# Works on a fresh Debian 12 with only Python 3.11: installs missing packages, builds .venv,
# then starts a throwaway PostgreSQL cluster, Redis and a Celery worker in temp dirs, and
# removes all of it on exit (also on failure or Ctrl-C). Exit code: the first failing step's.
# env: TEST_PG_PORT / TEST_REDIS_PORT pin the ports; by default the first free one from
# 54330 / 6391 is claimed, so a dev cluster (54320/6390) or a parallel run does not collide.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
cd "$ROOT"
SVC=(bash "$ROOT/platform/services.sh")
T0=$SECONDS
STEP=0

banner() { STEP=$((STEP + 1)); printf '\n=== [%d] %s\n' "$STEP" "$*"; }
# step NAME CMD...: run CMD; on failure report and exit with its code
step() {
  local name=$1 t=$SECONDS rc=0; shift
  banner "$name"
  "$@" || rc=$?
  if ((rc != 0)); then printf '=== FAILED: %s (exit %d, %ds)\n' "$name" "$rc" $((SECONDS - t)) >&2; exit "$rc"; fi
  printf '=== ok: %s (%ds)\n' "$name" $((SECONDS - t))
}
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
# claim_port VAR START: set VAR to the first port from START that nobody listens on and no
# parallel test run holds: an flock on /tmp/labelqa-port-N.lock, kept until this script ends.
claim_port() {
  local p fd
  for ((p = $2; p < $2 + 100; p++)); do
    { exec {fd}>>"/tmp/labelqa-port-$p.lock"; } 2>/dev/null || continue
    if flock -n "$fd" && ! port_busy "$p"; then printf -v "$1" %s "$p"; return 0; fi
    exec {fd}>&-
  done
  echo "no free port in $2..$(($2 + 99))" >&2; return 1
}

# ---- cleanup: stop what this run started, remove its temp dirs --------------------------------
STARTED=()
TMPDIRS=()
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if ((${#STARTED[@]})); then
    printf '\n=== cleanup: stopping what this run started\n'
    # reverse order: celery before redis before postgres
    for ((i = ${#STARTED[@]} - 1; i >= 0; i--)); do "${SVC[@]}" stop "${STARTED[i]}" || true; done
  fi
  ((${#TMPDIRS[@]} == 0)) || rm -rf "${TMPDIRS[@]}"
  printf '=== %s after %ds (exit %d)\n' "$([[ $rc == 0 ]] && echo PASSED || echo FAILED)" $((SECONDS - T0)) "$rc"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
start() { STARTED+=("$1"); "${SVC[@]}" start "$1"; }

# ---- environment: defaults only, nothing a `prod.sh env` shell may have left ----------------
unset DJANGO_ALLOWED_HOSTS DJANGO_SECURE_SSL_REDIRECT DJANGO_SECURE_COOKIES \
  DJANGO_HSTS_SECONDS DJANGO_BEHIND_PROXY DATABASE_CONN_MAX_AGE DATABASE_URL \
  CELERY_BROKER_URL CELERY_RESULT_BACKEND SECRET_KEY_FALLBACKS
# The development settings (loopback hosts, no HTTPS redirect), as pytest-django turns DEBUG
# itself off; the Celery worker and the checks below get the same. A fresh key per run.
SECRET_KEY=$(bash platform/secret_key.sh)
export DJANGO_DEBUG=1 SECRET_KEY LQA_TEST_CELERY=1 LQA_PG_FAST=1

step "system packages (apt.sh)" bash platform/apt.sh
step "virtualenv (bootstrap.sh)" bash platform/bootstrap.sh
LQA_CHROMIUM=$(command -v chromium || true)
export LQA_CHROMIUM

step "ruff check (with the complexity gate)" .venv/bin/ruff check .
step "import contracts (lint-imports)" .venv/bin/lint-imports --no-cache

# ports are claimed right before use: parallel runs (other clones, CI jobs) must not collide
if [[ -n ${TEST_PG_PORT:-} ]]; then PG_PORT=$TEST_PG_PORT; else claim_port PG_PORT 54330; fi
if [[ -n ${TEST_REDIS_PORT:-} ]]; then REDIS_PORT=$TEST_REDIS_PORT; else claim_port REDIS_PORT 6391; fi
export PG_PORT REDIS_PORT
export DATABASE_URL=postgres://labelqa@127.0.0.1:$PG_PORT/labelqa
export CELERY_BROKER_URL=redis://127.0.0.1:$REDIS_PORT/0
export CELERY_RESULT_BACKEND=redis://127.0.0.1:$REDIS_PORT/1

banner "services: PostgreSQL :$PG_PORT, Redis :$REDIS_PORT (throwaway)"
LQA_VAR=$(mktemp -d /tmp/labelqa-test.XXXXXX) && TMPDIRS+=("$LQA_VAR")
LQA_PGDATA=$(mktemp -d /tmp/labelqa-pgtest.XXXXXX) && TMPDIRS+=("$LQA_PGDATA")
export LQA_VAR LQA_PGDATA   # services.sh chowns the empty PGDATA to postgres before initdb
t=$SECONDS
start postgres
start redis
printf '=== ok: services (%ds)\n' $((SECONDS - t))

step "manage.py check" .venv/bin/python manage.py check
step "makemigrations --check" .venv/bin/python manage.py makemigrations --check --dry-run

# The worker must use the database pytest-django creates (test_ + NAME). It connects per
# task, so it may start before that database exists.
banner "services: Celery worker on test_labelqa"
t=$SECONDS
DATABASE_URL=${DATABASE_URL%/*}/test_labelqa start celery
printf '=== ok: celery (%ds)\n' $((SECONDS - t))

pytest_run() {
  local rc=0
  .venv/bin/python -m pytest "$@" || rc=$?
  if ((rc == 5)); then echo "pytest collected no tests: that is a failure here" >&2; return 1; fi
  return "$rc"
}
step "pytest $*" pytest_run "$@"
