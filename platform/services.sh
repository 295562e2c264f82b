#!/usr/bin/env bash
# Start, stop and inspect the runtime services on loopback.
#
#   bash platform/services.sh {start|stop|status} {postgres|redis|celery|web|all}...
#
# env: PG_PORT (54320) REDIS_PORT (6390) WEB_PORT (8000) CELERY_CONCURRENCY (2) WEB_WORKERS (3)
#      WEB_CONN_MAX_AGE (600: seconds a web worker keeps its database connection)
#      LQA_VAR     state dir: pid files, logs, redis dir        (default <repo>/var)
#      LQA_PGDATA  PostgreSQL cluster, owned by `postgres`      (default /tmp/labelqa-pg-$PG_PORT)
#      LQA_PG_FAST=1  throwaway cluster: no fsync, role labelqa is a superuser
# celery and web run with the caller's environment (DJANGO_DEBUG, SECRET_KEY, DATABASE_URL,
# CELERY_BROKER_URL, ...): outside debug the settings refuse to start without a strong key.
# `status` exits 3 when any asked-for service is down.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
PG_PORT=${PG_PORT:-54320} REDIS_PORT=${REDIS_PORT:-6390} WEB_PORT=${WEB_PORT:-8000}
VAR=${LQA_VAR:-$ROOT/var}
mkdir -p "$VAR" && VAR=$(cd "$VAR" && pwd -P)
PGDATA=${LQA_PGDATA:-/tmp/labelqa-pg-$PG_PORT}
BIN=$ROOT/.venv/bin
export PYTHONPATH=$ROOT${PYTHONPATH:+:$PYTHONPATH} DJANGO_SETTINGS_MODULE=${DJANGO_SETTINGS_MODULE:-config.settings}

say() { printf '%-8s %s\n' "$1:" "${*:2}"; }
fail() { say "$1" "FAILED: ${*:2}" >&2; [[ -f ${LOG:-} ]] && { echo "--- tail of $LOG" >&2; tail -n 40 "$LOG" >&2; }; exit 1; }
alive() { [[ -f $1 ]] && kill -0 "$(cat "$1")" 2>/dev/null; }
# refuse a port someone else listens on: otherwise the wait below could be answered by them
need_port() { ! (exec 3<>"/dev/tcp/127.0.0.1/$2") 2>/dev/null || LOG= fail "$1" "port $2 is in use by another process"; }
# wait_for SECONDS PIDFILE|- CMD...: poll CMD until it succeeds; on failure set WHY, return 1.
# Gives up early when the daemon's pid died (it writes its pid file a moment after forking).
wait_for() {
  local secs=$1 pidf=$2 t0=$SECONDS; shift 2
  until "$@" >/dev/null 2>&1; do
    if [[ $pidf != - ]] && ! alive "$pidf" && { [[ -f $pidf ]] || ((SECONDS - t0 > 5)); }; then
      WHY="process exited"; return 1
    fi
    ((SECONDS - t0 < secs)) || { WHY="not answering after ${secs}s"; return 1; }
    sleep 0.5
  done
}
# stop_pid NAME PIDFILE SECONDS: TERM, wait, then KILL the process group (pool children too)
stop_pid() {
  local name=$1 pidf=$2 secs=$3 pid pgid
  alive "$pidf" || { rm -f "$pidf"; say "$name" "not running"; return 0; }
  pid=$(cat "$pidf"); pgid=$(ps -o pgid= -p "$pid" | tr -d ' ')
  kill -TERM "$pid"
  for ((i = 0; i < secs * 2; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  if kill -0 "$pid" 2>/dev/null; then
    say "$name" "still running after ${secs}s, killing"
    if [[ -n $pgid && $pgid != "$(ps -o pgid= -p $$ | tr -d ' ')" ]]; then kill -KILL -- "-$pgid"; else kill -KILL "$pid"; fi
  fi
  rm -f "$pidf"; say "$name" "stopped"
}

# ---- postgres: runs as the `postgres` user; data dir and socket live in PGDATA ----
pg_bin() {
  local d; d=$(pg_config --bindir 2>/dev/null || true)
  [[ -x $d/initdb ]] || d=$(dirname "$(ls -d /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -n1)")
  [[ -x $d/initdb ]] || fail postgres "server binaries not found (run platform/apt.sh postgres)"
  echo "$d"
}
# initdb/postgres refuse root; cd / because postgres may not traverse the caller's cwd
as_pg() { if [[ $(id -u) -eq 0 ]]; then (cd / && runuser -u postgres -- "$@"); else (cd / && "$@"); fi; }
psql_pg() { as_pg "$PGB/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -tA "$@"; }
pg_up() { as_pg "$PGB/pg_ctl" status -D "$PGDATA" >/dev/null 2>&1; }
start_postgres() {
  PGB=$(pg_bin); LOG=$PGDATA/server.log
  if pg_up; then say postgres "already running ($PGDATA)"; else
    need_port postgres "$PG_PORT"
    if [[ ! -f $PGDATA/PG_VERSION ]]; then
      mkdir -p "$PGDATA"; chmod 700 "$PGDATA"
      [[ $(id -u) -ne 0 ]] || chown postgres: "$PGDATA"
      as_pg test -w "$PGDATA" || fail postgres "user postgres cannot write $PGDATA (set LQA_PGDATA under /tmp)"
      as_pg "$PGB/initdb" -D "$PGDATA" -U postgres -A trust -E UTF8 --locale=C >"$VAR/initdb.log" 2>&1 \
        || { LOG=$VAR/initdb.log; fail postgres "initdb failed"; }
      echo "include_if_exists = 'labelqa.conf'" | as_pg tee -a "$PGDATA/postgresql.conf" >/dev/null
    fi
    # rewritten on every start so PG_PORT / LQA_PG_FAST of this call apply
    { echo "listen_addresses = '127.0.0.1'"; echo "port = $PG_PORT"
      # socket beside the data (postgres can reach it); none if the path is too long for one
      if ((${#PGDATA} < 90)); then echo "unix_socket_directories = '$PGDATA'"; else echo "unix_socket_directories = ''"; fi
      # sized for bulk work (million-row imports and reports) on a machine of a few GB and up
      echo "shared_buffers = '${LQA_PG_SHARED_BUFFERS:-1GB}'"; echo "work_mem = '64MB'"
      echo "maintenance_work_mem = '512MB'"; echo "max_wal_size = '8GB'"
      echo "checkpoint_timeout = '15min'"
      # per-statement figures for a benchmark (bench/run.sh queue prints the top statements)
      if [[ ${LQA_PG_STAT_STATEMENTS:-0} == 1 ]]; then
        echo "shared_preload_libraries = 'pg_stat_statements'"; fi
      if [[ ${LQA_PG_FAST:-0} == 1 ]]; then
        echo "fsync = off"; echo "synchronous_commit = off"; echo "full_page_writes = off"; fi
    } | as_pg tee "$PGDATA/labelqa.conf" >/dev/null
    as_pg "$PGB/pg_ctl" start -D "$PGDATA" -l "$LOG" -w -t 60 >/dev/null || fail postgres "pg_ctl start failed"
  fi
  wait_for 30 - as_pg "$PGB/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" || fail postgres "$WHY"
  local su=NOSUPERUSER; [[ ${LQA_PG_FAST:-0} != 1 ]] || su=SUPERUSER
  [[ $(psql_pg -c "SELECT 1 FROM pg_roles WHERE rolname='labelqa'") == 1 ]] \
    || psql_pg -c "CREATE ROLE labelqa LOGIN CREATEDB $su" || fail postgres "cannot create role"
  [[ $(psql_pg -c "SELECT 1 FROM pg_database WHERE datname='labelqa'") == 1 ]] \
    || psql_pg -c "CREATE DATABASE labelqa OWNER labelqa" || fail postgres "cannot create database"
  say postgres "up: DATABASE_URL=postgres://labelqa@127.0.0.1:$PG_PORT/labelqa (data $PGDATA)"
}
stop_postgres() {
  PGB=$(pg_bin)
  if pg_up; then as_pg "$PGB/pg_ctl" stop -D "$PGDATA" -m fast -w -t 60 >/dev/null; say postgres stopped
  else say postgres "not running"; fi
}
status_postgres() { PGB=$(pg_bin); pg_up && say postgres "up (127.0.0.1:$PG_PORT, $PGDATA)"; }

# ---- redis: no persistence, state dir under VAR ----
redis_ping() { [[ $(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null) == PONG ]]; }
start_redis() {
  local pidf=$VAR/redis.pid; LOG=$VAR/redis.log
  if alive "$pidf"; then say redis "already running (pid $(cat "$pidf"))"; return 0; fi
  command -v redis-server >/dev/null || fail redis "redis-server not installed (run platform/apt.sh redis)"
  need_port redis "$REDIS_PORT"; mkdir -p "$VAR/redis"; rm -f "$pidf"
  # a config file, because redis re-parses command-line options and paths may hold spaces
  printf '%s\n' "bind 127.0.0.1" "port $REDIS_PORT" "daemonize yes" "pidfile \"$pidf\"" \
    "logfile \"$LOG\"" "dir \"$VAR/redis\"" 'save ""' "appendonly no" >"$VAR/redis.conf"
  redis-server "$VAR/redis.conf" || fail redis "redis-server failed"
  wait_for 20 "$pidf" redis_ping || { stop_redis >/dev/null; fail redis "$WHY"; }
  say redis "up: redis://127.0.0.1:$REDIS_PORT"
}
stop_redis() { stop_pid redis "$VAR/redis.pid" 10; }
status_redis() { alive "$VAR/redis.pid" && redis_ping && say redis "up (127.0.0.1:$REDIS_PORT)"; }

# ---- celery worker (app `config`) ----
# (not `| grep -q`: grep quitting early would break celery's pipe and, with pipefail, the test)
# -d: the reply of our node (%h is the nodename) ends the wait, instead of the whole timeout
celery_ping() {
  local out; out=$("$BIN/celery" -A config inspect ping --timeout 2 -d "labelqa@$(uname -n)" 2>&1) && [[ $out == *labelqa@* ]]
}
start_celery() {
  local pidf=$VAR/celery.pid; LOG=$VAR/celery.log
  if alive "$pidf"; then say celery "already running (pid $(cat "$pidf"))"; return 0; fi
  rm -f "$pidf"
  (cd "$ROOT" && "$BIN/celery" -A config worker --loglevel=INFO --concurrency="${CELERY_CONCURRENCY:-2}" \
    --hostname='labelqa@%h' --pidfile="$pidf" --logfile="$LOG" --detach) \
    || fail celery "celery worker --detach failed"
  wait_for 60 "$pidf" celery_ping || { stop_celery >/dev/null; fail celery "$WHY"; }
  say celery "up (pid $(cat "$pidf"), log $LOG)"
}
stop_celery() { stop_pid celery "$VAR/celery.pid" 30; }
status_celery() { alive "$VAR/celery.pid" && say celery "up (pid $(cat "$VAR/celery.pid"))"; }

# ---- web: gunicorn ----
# any HTTP answer counts, redirects not followed (python, as curl may be missing)
http_ok() {
  "$BIN/python" -c 'import sys, http.client as h
c = h.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=3); c.request("GET", "/"); c.getresponse()' "$WEB_PORT"
}
start_web() {
  local pidf=$VAR/web.pid; LOG=$VAR/web.log
  if alive "$pidf"; then say web "already running (pid $(cat "$pidf"))"; return 0; fi
  need_port web "$WEB_PORT"; rm -f "$pidf"
  # Sync workers (gunicorn's default): each takes the next connection from the one listen
  # queue and closes it after the answer. gthread workers with keep-alive measured ~10% less
  # CPU per request in the queue benchmark, but a kept connection stays with the worker that
  # accepted it: with 32 busy clients some workers held more connections than others, and
  # the slowest clients' latency (p90, p99) about doubled.
  # no control socket: its default path (~/.gunicorn/gunicorn.ctl) is shared by all instances.
  # Persistent database connections (WEB_CONN_MAX_AGE seconds, 600 by default): each worker
  # keeps one instead of connecting for every request (config/settings.py).
  DATABASE_CONN_MAX_AGE=${WEB_CONN_MAX_AGE:-600} "$BIN/gunicorn" config.wsgi:application --chdir "$ROOT" --bind "127.0.0.1:$WEB_PORT" \
    --workers "${WEB_WORKERS:-3}" --daemon --pid "$pidf" --no-control-socket \
    --access-logfile "$VAR/web-access.log" --error-logfile "$LOG" || fail web "gunicorn failed"
  wait_for 60 "$pidf" http_ok || { stop_web >/dev/null; fail web "$WHY"; }
  say web "up: http://127.0.0.1:$WEB_PORT/"
}
stop_web() { stop_pid web "$VAR/web.pid" 30; }
status_web() { alive "$VAR/web.pid" && http_ok && say web "up (http://127.0.0.1:$WEB_PORT/)"; }

# ---- dispatch ----
action=${1:-}; shift || true
[[ $action =~ ^(start|stop|status)$ && $# -gt 0 ]] \
  || { echo "usage: $0 {start|stop|status} {postgres|redis|celery|web|all}..." >&2; exit 2; }
names=()
for n in "$@"; do
  case $n in
    all) if [[ $action == stop ]]; then names+=(web celery redis postgres); else names+=(postgres redis celery web); fi ;;
    postgres|redis|celery|web) names+=("$n") ;;
    *) echo "unknown service '$n'" >&2; exit 2 ;;
  esac
done
rc=0
for n in "${names[@]}"; do
  if [[ $action == status ]]; then "status_$n" || { say "$n" down; rc=3; }; else "${action}_$n"; fi
done
exit $rc
