#!/usr/bin/env bash
# Run a benchmark against a throwaway PostgreSQL cluster (durable settings: fsync on).
#
#   bash bench/run.sh import [ROWS]
#   bash bench/run.sh queue [ITEMS] [ANNOTATORS] [combined|two-calls]
#                                                  (also gunicorn, Redis, a Celery worker; env
#                                                   BENCH_WEB_PORT, BENCH_REDIS_PORT,
#                                                   BENCH_WEB_WORKERS, BENCH_TIME_LIMIT)
#   bash bench/run.sh qa [ITEMS]                   (agreement report + Dawid-Skene, 5 and 20 labels)
#   bash bench/run.sh export [ITEMS]               (JSONL, CSV, Label Studio exports of ITEMS)
#   bash bench/run.sh billing [ANNOTATIONS] [ANNOTATORS]   (also gunicorn)
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
cd "$ROOT"
name=${1:?usage: bench/run.sh import [ROWS] | queue [ITEMS] [ANNOTATORS] | qa [ITEMS] | export [ITEMS] | billing [ANNOTATIONS] [ANNOTATORS]}
shift
bash platform/apt.sh postgres >/dev/null
bash platform/bootstrap.sh
export PG_PORT=${BENCH_PG_PORT:-54390}
LQA_VAR=$(mktemp -d /tmp/labelqa-bench.XXXXXX)
LQA_PGDATA=$(mktemp -d /tmp/labelqa-pgbench.XXXXXX)
export LQA_VAR LQA_PGDATA
trap 'bash platform/services.sh stop postgres >/dev/null || true; rm -rf "$LQA_VAR" "$LQA_PGDATA"' EXIT
# the queue benchmark prints where PostgreSQL spent its time, statement by statement
[[ $name != queue ]] || export LQA_PG_STAT_STATEMENTS=1
bash platform/services.sh start postgres >/dev/null
export DATABASE_URL=postgres://labelqa@127.0.0.1:$PG_PORT/labelqa
if [[ $name == queue ]]; then
  "$(pg_config --bindir 2>/dev/null || dirname "$(ls -d /usr/lib/postgresql/*/bin/psql | sort -V | tail -n1)")/psql" \
    -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -d labelqa -v ON_ERROR_STOP=1 \
    -c "CREATE EXTENSION IF NOT EXISTS pg_stat_statements" \
    -c "GRANT EXECUTE ON FUNCTION pg_stat_statements_reset TO labelqa" >/dev/null
fi
unset CELERY_BROKER_URL SECRET_KEY_FALLBACKS
export LOG_LEVEL=WARNING
# The in-process benchmarks run as they always did, with debug on (it is off by default now);
# the ones behind gunicorn turn it off below. A fresh key per run.
SECRET_KEY=$(bash platform/secret_key.sh)
export DJANGO_DEBUG=1 SECRET_KEY
.venv/bin/python manage.py migrate -v0
case "$name" in
  import) .venv/bin/python bench/import_bench.py --rows "${1:-1000000}" ;;
  queue)
    # gunicorn as in production (DEBUG off, plain HTTP on loopback). 4 sync workers on 2 cores:
    # a worker waits on PostgreSQL for part of each request (6-7 round trips, locks, commits),
    # so about twice the cores keeps both busy; more only adds context switches and backends
    # competing with the 32 client processes for the same 2 cores (services.sh: why sync).
    export WEB_PORT=${BENCH_WEB_PORT:-8390} WEB_WORKERS=${BENCH_WEB_WORKERS:-4}
    export DJANGO_DEBUG=0 DJANGO_ALLOWED_HOSTS=127.0.0.1 DJANGO_SECURE_SSL_REDIRECT=0 \
      DJANGO_SECURE_COOKIES=0 DJANGO_HSTS_SECONDS=0 MEDIA_ROOT=$LQA_VAR/media
    # Consensus as in production: completions mark the project in Redis and a Celery worker
    # sweeps it (qa.receivers); one worker process, as its sweeps are one project's anyway.
    export REDIS_PORT=${BENCH_REDIS_PORT:-6395} CELERY_CONCURRENCY=1
    export CELERY_BROKER_URL=redis://127.0.0.1:$REDIS_PORT/0
    trap 'bash platform/services.sh stop web celery redis >/dev/null || true
      bash platform/services.sh stop postgres >/dev/null || true; rm -rf "$LQA_VAR" "$LQA_PGDATA"' EXIT
    bash platform/services.sh start redis celery web >/dev/null
    # the benchmark's own setup (the import) runs in its process, without the broker
    env -u CELERY_BROKER_URL .venv/bin/python bench/queue_bench.py --items "${1:-100000}" \
      --annotators "${2:-32}" --url "http://127.0.0.1:$WEB_PORT" \
      --time-limit "${BENCH_TIME_LIMIT:-600}" --form "${3:-combined}" ;;
  qa) .venv/bin/python bench/qa_bench.py --items "${1:-1000000}" ;;
  export) MEDIA_ROOT=$LQA_VAR/media .venv/bin/python bench/export_bench.py --items "${1:-1000000}" ;;
  billing)
    # gunicorn as in production (DEBUG off, plain HTTP on loopback); the reads are timed one
    # at a time, so 2 sync workers are plenty.
    export WEB_PORT=${BENCH_WEB_PORT:-8390} WEB_WORKERS=${BENCH_WEB_WORKERS:-2}
    export DJANGO_DEBUG=0 DJANGO_ALLOWED_HOSTS=127.0.0.1 DJANGO_SECURE_SSL_REDIRECT=0 \
      DJANGO_SECURE_COOKIES=0 DJANGO_HSTS_SECONDS=0 MEDIA_ROOT=$LQA_VAR/media
    trap 'bash platform/services.sh stop web >/dev/null || true
      bash platform/services.sh stop postgres >/dev/null || true; rm -rf "$LQA_VAR" "$LQA_PGDATA"' EXIT
    .venv/bin/python manage.py collectstatic --noinput >/dev/null  # the dashboard page is timed too
    bash platform/services.sh start web >/dev/null
    .venv/bin/python bench/billing_bench.py --annotations "${1:-10000000}" \
      --annotators "${2:-200}" --url "http://127.0.0.1:$WEB_PORT" ;;
  *) echo "unknown benchmark: $name" >&2; exit 2 ;;
esac
