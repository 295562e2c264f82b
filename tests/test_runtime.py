"""The runtime: environment-driven settings, the embedded default, the production checks."""

import importlib.util
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import psycopg
import pytest
from django.db import connection
from django.test import Client

from config import embedded_pg, secret_key
from tests.factories import PASSWORD

ROOT = Path(__file__).resolve().parent.parent
PRODUCTION_ENV = {
    "DJANGO_DEBUG": "0",
    # Made per run: a key written here would be a published one, which the settings refuse.
    "SECRET_KEY": secrets.token_urlsafe(50),
    "DJANGO_ALLOWED_HOSTS": "labels.example.com",
    "DATABASE_URL": "postgres://labelqa:secret@127.0.0.1:5432/labelqa",
    "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0",
}


def run_python(code: str, env: dict) -> subprocess.CompletedProcess:
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "DATABASE_", "CELERY_", "SECRET_KEY", "LQA_EMBEDDED_"))
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


def test_debug_alone_means_the_embedded_postgresql_and_tasks_in_process():
    database = "d = s.DATABASES['default']; print(d['HOST'], d['NAME'], d['USER'])"
    result = run_python(f"{SHOW}; {database}", {"DJANGO_DEBUG": "1"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "django.db.backends.postgresql", "True", "True",
        # the socket beside the data in var/pg (a path too long for a socket would move it)
        str(embedded_pg.socket_dir()), "labelqa", "postgres",
    ]  # fmt: skip
    assert embedded_pg.PGDATA == ROOT / "var" / "pg"


def test_a_database_other_than_postgresql_is_refused():
    result = run_python(
        SHOW, {"DJANGO_DEBUG": "1", "DATABASE_URL": "mysql://labelqa@127.0.0.1/labelqa"}
    )
    assert result.returncode != 0
    assert "DATABASE_URL must name a PostgreSQL database" in result.stderr


def test_the_socket_is_where_the_running_server_says(tmp_path):
    assert embedded_pg.socket_dir(tmp_path) == tmp_path  # not running: beside the data
    lines = ["4242", str(tmp_path), "1700000000", "5432", "/tmp/runtime-0/abc", "", "1 2", "ready"]
    (tmp_path / "postmaster.pid").write_text("\n".join(lines) + "\n")
    assert embedded_pg.socket_dir(tmp_path) == Path("/tmp/runtime-0/abc")
    assert embedded_pg.url(tmp_path) == "postgres://postgres@%2Ftmp%2Fruntime-0%2Fabc/labelqa"


def test_the_embedded_server_starts_keeps_its_data_and_stops():
    """The demo's server from the wheel, in a folder of its own: started twice (the data
    survives), stopped; it runs as its own user when we are root."""
    # Not pytest's tmp_path: the wheel opens every folder above the data to its user.
    parent = Path(tempfile.mkdtemp(prefix="labelqa-embedded-"))
    env = {**os.environ, "LQA_EMBEDDED_PGDATA": str(parent / "pg")}

    def command(action: str) -> str:
        result = subprocess.run(
            [sys.executable, "-m", "config.embedded_pg", action],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        return result.stdout.strip()

    try:
        url = command("start")
        assert url == embedded_pg.url(parent / "pg")
        with psycopg.connect(url, autocommit=True) as c:
            assert c.info.server_version >= 180000
            c.execute("CREATE TABLE kept (n int)")
            c.execute("INSERT INTO kept VALUES (7)")
        assert command("start") == url  # running already: the same server
        assert command("stop") == "stopped"
        assert command("stop") == "not running"
        with psycopg.connect(command("start"), autocommit=True) as c:
            assert c.execute("SELECT n FROM kept").fetchall() == [(7,)]
            folder = c.execute("SELECT current_setting('data_directory')").fetchone()[0]
        assert folder == str(parent / "pg")
        if os.geteuid() == 0:
            assert (parent / "pg").owner() == "embedded_postgres"
    finally:
        command("stop")
        shutil.rmtree(parent)


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
    result = manage(
        "spectacular", "--fail-on-warn", "--file", str(schema), env={"DJANGO_DEBUG": "1"}
    )
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


def test_the_suite_runs_on_postgresql_15_or_newer(db):
    """15, the oldest server the platform's SQL is written for (Debian 12's, test.sh's)."""
    assert connection.pg_version >= 150000


# --- the secret key (config/secret_key.py) ---------------------------------------------------
SETUP = "import django; django.setup(); print('started')"


def test_nothing_set_means_debug_off_and_no_start_without_a_key():
    result = run_python(SETUP, {})
    assert result.returncode != 0
    assert "SECRET_KEY must be set in the environment outside debug" in result.stderr
    assert "started" not in result.stdout


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({}, "SECRET_KEY must be set in the environment outside debug"),
        ({"SECRET_KEY": ""}, "SECRET_KEY must be set in the environment outside debug"),
        ({"SECRET_KEY": secrets.token_urlsafe(50)[:49]}, "SECRET_KEY is too short: 49 characters"),
        ({"SECRET_KEY": "changeme"}, "SECRET_KEY is a published key"),
        ({"SECRET_KEY": secret_key.DEVELOPMENT_KEY}, "SECRET_KEY is a published key"),
        (
            {"SECRET_KEY": "django-insecure-" + secrets.token_urlsafe(50)},
            "SECRET_KEY is a published key",
        ),
        ({"SECRET_KEY": "ab" * 30}, "SECRET_KEY has fewer than 5 different characters"),
        (
            {"SECRET_KEY_FALLBACKS": f"{secrets.token_urlsafe(50)},changeme"},
            "SECRET_KEY_FALLBACKS[1] is a published key",
        ),
        ({"SECRET_KEY_FALLBACKS": "old-and-short"}, "SECRET_KEY_FALLBACKS[0] is too short"),
    ],
    ids=[
        "missing", "empty", "short", "changeme", "development", "insecure-prefix", "repetitive",
        "published-fallback", "short-fallback",
    ],
)  # fmt: skip
def test_production_settings_refuse_a_weak_key(env, message):
    base = {k: v for k, v in PRODUCTION_ENV.items() if k != "SECRET_KEY"}
    if "SECRET_KEY" not in env and "SECRET_KEY_FALLBACKS" in env:
        base["SECRET_KEY"] = PRODUCTION_ENV["SECRET_KEY"]
    result = run_python(SETUP, {**base, **env})
    assert result.returncode != 0
    assert "started" not in result.stdout
    last_line = result.stderr.strip().splitlines()[-1]
    assert last_line.startswith(f"django.core.exceptions.ImproperlyConfigured: {message}")
    assert "DJANGO_DEBUG=1 is for development only" in last_line


def test_production_settings_start_with_a_good_key_and_its_fallbacks():
    old = [secrets.token_urlsafe(50), secrets.token_urlsafe(50)]
    show = f"{SETUP}; from django.conf import settings as s; print(s.DEBUG, s.SECRET_KEY_FALLBACKS)"
    result = run_python(show, {**PRODUCTION_ENV, "SECRET_KEY_FALLBACKS": ",".join(old)})
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[:2] == ["started", f"False {old!r}"]


def test_debug_without_a_key_uses_the_development_key_which_production_refuses():
    show = f"{SETUP}; from django.conf import settings as s; print(s.SECRET_KEY)"
    result = run_python(show, {"DJANGO_DEBUG": "1"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["started", secret_key.DEVELOPMENT_KEY]
    assert secret_key.refusal(secret_key.DEVELOPMENT_KEY)


# A key written in a file: assigned to SECRET_KEY* (Python, shell, JSON, a dict) or made by
# Django's startproject (django-insecure-...).
KEY_LITERAL = re.compile(
    r"""SECRET_KEY\w*["']?\s*[:=,]\s*["']([^"'\s]+)["']"""
    r"""|SECRET_KEY\w*=([^\s"'$`();|&]+)"""
    r"""|(django-insecure-[\w-]+)"""
)
NOT_THE_REPOSITORY = {
    ".git", ".venv", "var", "media", "staticfiles", "__pycache__", ".ruff_cache", ".pytest_cache",
}  # fmt: skip


def keys_in_repository() -> set[str]:
    found = set()
    for folder, subfolders, files in os.walk(ROOT):
        subfolders[:] = [name for name in subfolders if name not in NOT_THE_REPOSITORY]
        for name in files:
            text = (Path(folder) / name).read_bytes().decode("utf-8", "replace")
            for match in KEY_LITERAL.finditer(text):
                found.add(next(group for group in match.groups() if group))
    return found


def test_every_key_written_in_the_repository_is_refused():
    keys = keys_in_repository()
    # The finder sees the keys this file and the settings module name.
    assert {secret_key.DEVELOPMENT_KEY, "changeme"} <= keys
    assert {key: secret_key.refusal(key) for key in keys if not secret_key.refusal(key)} == {}


def test_rotation_keeps_sessions_of_the_old_key_while_it_is_a_fallback(world, settings):
    """README's rotation: the new key in SECRET_KEY, the old one in SECRET_KEY_FALLBACKS. A
    session used meanwhile moves to the new key; one that was not ends with the fallback."""
    old, new = secrets.token_urlsafe(50), secrets.token_urlsafe(50)
    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = old, []
    back_soon, away = Client(), Client()
    for client in (back_soon, away):
        assert client.login(username="alpha.admin", password=PASSWORD)
        assert client.get("/").status_code == 200

    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = new, [old]
    assert back_soon.get("/").status_code == 200  # still logged in

    settings.SECRET_KEY_FALLBACKS = []
    assert back_soon.get("/").status_code == 200
    response = away.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
