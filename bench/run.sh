#!/usr/bin/env bash
# Run a benchmark against a throwaway PostgreSQL cluster (durable settings: fsync on).
#
#   bash bench/run.sh import [ROWS]
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
cd "$ROOT"
name=${1:?usage: bench/run.sh import [ROWS]}
shift
bash platform/apt.sh postgres >/dev/null
bash platform/bootstrap.sh
export PG_PORT=${BENCH_PG_PORT:-54390}
LQA_VAR=$(mktemp -d /tmp/labelqa-bench.XXXXXX)
LQA_PGDATA=$(mktemp -d /tmp/labelqa-pgbench.XXXXXX)
export LQA_VAR LQA_PGDATA
trap 'bash platform/services.sh stop postgres >/dev/null || true; rm -rf "$LQA_VAR" "$LQA_PGDATA"' EXIT
bash platform/services.sh start postgres >/dev/null
export DATABASE_URL=postgres://labelqa@127.0.0.1:$PG_PORT/labelqa
unset CELERY_BROKER_URL
export LOG_LEVEL=WARNING
.venv/bin/python manage.py migrate -v0
case "$name" in
  import) .venv/bin/python bench/import_bench.py --rows "${1:-1000000}" ;;
  *) echo "unknown benchmark: $name" >&2; exit 2 ;;
esac
