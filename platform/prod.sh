#!/usr/bin/env bash
# A production-like run on one machine: PostgreSQL, Redis, a Celery worker and gunicorn,
# all on loopback, DEBUG off, plain HTTP.
#
#   bash platform/prod.sh [--demo]     start everything (--demo also seeds demo data)
#   bash platform/prod.sh env          print the exports: eval "$(bash platform/prod.sh env)"
#   bash platform/services.sh stop all stop everything
#
# env: PG_PORT (54320) REDIS_PORT (6390) WEB_PORT (8000) LQA_VAR LQA_PGDATA, as services.sh.
# Note: the cluster lives in LQA_PGDATA (default /tmp/labelqa-pg-$PG_PORT, gone on reboot);
# point LQA_PGDATA somewhere durable that the postgres user can reach for data you keep.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
cd "$ROOT"
PG_PORT=${PG_PORT:-54320} REDIS_PORT=${REDIS_PORT:-6390} WEB_PORT=${WEB_PORT:-8000}
VAR=${LQA_VAR:-$ROOT/var}

# The secret key is generated once and kept (mode 600): sessions survive restarts.
secret_key() { bash "$ROOT/platform/secret_key.sh" "$VAR/secret_key"; }

print_env() {
  local k v
  for k in DATABASE_URL CELERY_BROKER_URL CELERY_RESULT_BACKEND DJANGO_DEBUG SECRET_KEY \
    DJANGO_ALLOWED_HOSTS DJANGO_SECURE_SSL_REDIRECT DJANGO_SECURE_COOKIES DJANGO_HSTS_SECONDS; do
    case $k in
      DATABASE_URL) v=postgres://labelqa@127.0.0.1:$PG_PORT/labelqa ;;
      CELERY_BROKER_URL) v=redis://127.0.0.1:$REDIS_PORT/0 ;;
      CELERY_RESULT_BACKEND) v=redis://127.0.0.1:$REDIS_PORT/1 ;;
      DJANGO_DEBUG) v=0 ;;
      SECRET_KEY) v=$(secret_key) ;;
      DJANGO_ALLOWED_HOSTS) v=127.0.0.1,localhost ;;
      *) v=0 ;;  # SSL redirect, secure cookies, HSTS: off for plain HTTP on loopback
    esac
    printf "export %s='%s'\n" "$k" "${v//\'/\'\\\'\'}"
  done
}

demo=0
case ${1:-} in
  env) print_env; exit 0 ;;
  --demo) demo=1 ;;
  "") ;;
  *) echo "usage: $0 [--demo | env]" >&2; exit 2 ;;
esac

bash platform/apt.sh postgres redis
bash platform/bootstrap.sh
bash platform/services.sh start postgres redis

eval "$(print_env)"
unset LQA_TEST_CELERY DATABASE_CONN_MAX_AGE
echo "prod: migrate"
.venv/bin/python manage.py migrate --noinput
echo "prod: collectstatic"
.venv/bin/python manage.py collectstatic --noinput >/dev/null
if ((demo)); then
  echo "prod: seeding demo data"
  .venv/bin/python manage.py demo
fi
bash platform/services.sh start celery web

cat <<MSG

prod: running on http://127.0.0.1:$WEB_PORT/
  logs:            $VAR/*.log
  manage.py:       eval "\$(bash platform/prod.sh env)" && .venv/bin/python manage.py ...
  stop everything: bash platform/services.sh stop all
MSG
