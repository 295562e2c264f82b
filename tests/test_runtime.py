"""The runtime: environment-driven settings, the embedded default, the production checks."""

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent
PRODUCTION_ENV = {
    "DJANGO_DEBUG": "0",
    "SECRET_KEY": "k8#Qz-2vT!pL9wXr4mN7bY0cF3hJ6sD1gA5eU8iO2kP4lZ7xC9vB",
    "DJANGO_ALLOWED_HOSTS": "labels.example.com",
    "DATABASE_URL": "postgres://labelqa:secret@127.0.0.1:5432/labelqa",
    "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0",
}


def run_python(code: str, env: dict) -> subprocess.CompletedProcess:
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "DATABASE_", "CELERY_", "SECRET_KEY"))
    }
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "config.settings", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def manage(*args: str, env: dict) -> subprocess.CompletedProcess:
    return run_python(
        "import sys; from django.core.management import execute_from_command_line; "
        f"execute_from_command_line(['manage.py', *{list(args)!r}])",
        env,
    )


SHOW = (
    "import django; django.setup(); from django.conf import settings as s; "
    "print(s.DATABASES['default']['ENGINE'], s.CELERY_TASK_ALWAYS_EAGER, s.DEBUG)"
)


def test_nothing_set_means_sqlite_and_tasks_in_process():
    result = run_python(SHOW, {})
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["django.db.backends.sqlite3", "True", "True"]


def test_production_environment_switches_to_postgresql_and_redis():
    result = run_python(SHOW, PRODUCTION_ENV)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["django.db.backends.postgresql", "False", "False"]


def test_secret_key_is_required_outside_debug():
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != "SECRET_KEY"}
    result = run_python(SHOW, env)
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_a_malformed_boolean_is_named():
    result = run_python(SHOW, {"DJANGO_DEBUG": "maybe"})
    assert result.returncode != 0
    assert "DJANGO_DEBUG must be a boolean" in result.stderr


def test_check_deploy_is_clean_in_production():
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_the_openapi_schema_builds_without_warnings(tmp_path):
    """Every endpoint is described (API.md asks for the whole API as OpenAPI) and no two
    components collide: drf-spectacular's warnings fail the build."""
    schema = tmp_path / "schema.yaml"
    result = manage("spectacular", "--fail-on-warn", "--file", str(schema), env={})
    assert result.returncode == 0, result.stdout + result.stderr
    text = schema.read_text()
    for path in (
        "/api/v1/projects/{project_id}/agreement/",
        "/api/v1/exports/{export_id}/download/",
    ):
        assert path in text, path


def test_no_importable_platform_package_shadows_the_stdlib():
    spec = importlib.util.find_spec("platform")
    assert spec.origin is not None
    assert not spec.origin.startswith(str(ROOT)), spec.origin
    assert not (ROOT / "platform" / "__init__.py").exists()


def test_suite_runs_on_postgresql_under_the_test_command(db):
    """platform/test.sh runs the suite on PostgreSQL; elsewhere it may run on SQLite."""
    if not os.environ.get("LQA_TEST_CELERY"):
        pytest.skip("not started by platform/test.sh")
    assert connection.vendor == "postgresql"
