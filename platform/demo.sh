#!/usr/bin/env bash
# The demo command: the embedded default (the embedded PostgreSQL in var/pg, Celery tasks run
# in-process, no other services, no system packages).
#
#   bash platform/demo.sh          then open http://127.0.0.1:${WEB_PORT:-8000}/
#
# Starts the embedded PostgreSQL (config/embedded_pg.py; its data stays in var/pg between
# runs), seeds demo data idempotently (`manage.py demo` prints the logins), runs the dev server,
# and stops PostgreSQL when the server ends (Ctrl-C).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
cd "$ROOT"

bash platform/bootstrap.sh

# The embedded default on purpose: drop anything a `prod.sh env` or test shell may have set.
unset DATABASE_URL CELERY_BROKER_URL CELERY_RESULT_BACKEND LQA_TEST_CELERY SECRET_KEY_FALLBACKS \
  DJANGO_ALLOWED_HOSTS DJANGO_SECURE_SSL_REDIRECT DJANGO_SECURE_COOKIES DJANGO_HSTS_SECONDS
# Debug on, explicitly (it is off by default), with the demo's own key: made once in var/ and
# kept, so logins survive a restart of the demo.
SECRET_KEY=$(bash platform/secret_key.sh "$ROOT/var/demo_secret_key")
export DJANGO_DEBUG=1 SECRET_KEY

echo "demo: PostgreSQL (embedded, data in var/pg)"
.venv/bin/python -m config.embedded_pg start
trap 'echo "demo: stopping PostgreSQL"; .venv/bin/python -m config.embedded_pg stop' EXIT
echo "demo: migrate"
.venv/bin/python manage.py migrate --noinput
echo "demo: seeding demo data"
.venv/bin/python manage.py demo
echo "demo: serving http://127.0.0.1:${WEB_PORT:-8000}/ (Ctrl-C to stop)"
.venv/bin/python manage.py runserver "127.0.0.1:${WEB_PORT:-8000}"
