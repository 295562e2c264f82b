#!/usr/bin/env bash
# The demo command: the embedded default (SQLite, Celery tasks run in-process, no services).
#
#   bash platform/demo.sh          then open http://127.0.0.1:${WEB_PORT:-8000}/
#
# Seeds demo data idempotently (`manage.py demo` prints the logins) and runs the dev server.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
cd "$ROOT"

bash platform/bootstrap.sh

# The embedded default on purpose: drop anything a `prod.sh env` or test shell may have set.
unset DATABASE_URL CELERY_BROKER_URL CELERY_RESULT_BACKEND LQA_TEST_CELERY \
  DJANGO_DEBUG DJANGO_ALLOWED_HOSTS DJANGO_SECURE_SSL_REDIRECT DJANGO_SECURE_COOKIES DJANGO_HSTS_SECONDS

echo "demo: migrate (SQLite db.sqlite3)"
.venv/bin/python manage.py migrate --noinput
echo "demo: seeding demo data"
.venv/bin/python manage.py demo
echo "demo: serving http://127.0.0.1:${WEB_PORT:-8000}/ (Ctrl-C to stop)"
exec .venv/bin/python manage.py runserver "127.0.0.1:${WEB_PORT:-8000}"
