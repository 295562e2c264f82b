"""Server-side SQL in versioned files (core/sql.py): the database holds each function's newest
file, and a file cannot change under the migration that loads it."""

import hashlib
import re
from pathlib import Path

import pytest
from django.db import connection

from core.sql import FILE_NAME, ROOT, SqlFileChanged, function_body, sql_file

FILES = sorted(ROOT.glob("*/sql/*.sql"))


def newest_files() -> dict[str, Path]:
    """Each function's file with the highest migration number."""
    newest: dict[str, tuple[str, Path]] = {}
    for path in FILES:
        match = FILE_NAME.match(path.name)
        assert match, f"{path}: name it <function>.<migration number>.sql"
        name, number = match["function"], match["migration"]
        if name not in newest or number > newest[name][0]:
            newest[name] = (number, path)
    return {name: path for name, (_, path) in newest.items()}


def test_the_files_are_named_for_their_function_and_migration():
    assert {p.parent.parent.name for p in FILES} == {"labeling", "billing"}
    for path in FILES:
        match = FILE_NAME.match(path.name)
        assert match, path
        text = path.read_text()
        declared = re.search(r"CREATE OR REPLACE FUNCTION (\w+)\(", text)
        assert declared and declared[1] == match["function"], path
        migrations = list((path.parent.parent / "migrations").glob(f"{match['migration']}_*.py"))
        assert len(migrations) == 1, f"{path}: no migration {match['migration']}"
        assert f'"{path.name}"' in migrations[0].read_text(), f"{migrations[0]} loads {path}"


@pytest.mark.django_db
@pytest.mark.parametrize("function", sorted(newest_files()))
def test_the_database_holds_the_newest_file_of_each_function(function):
    path = newest_files()[function]
    with connection.cursor() as cursor:
        cursor.execute("SELECT prosrc FROM pg_proc WHERE proname = %s", [function])
        installed = [row[0] for row in cursor.fetchall()]
    assert installed == [function_body(path.read_text())], f"{function}: load {path.name}"


def test_a_file_edited_after_its_migration_pinned_it_is_refused(tmp_path, monkeypatch):
    (tmp_path / "demo" / "sql").mkdir(parents=True)
    path = tmp_path / "demo" / "sql" / "demo_fn.0001.sql"
    path.write_text("CREATE OR REPLACE FUNCTION demo_fn() RETURNS int LANGUAGE sql AS $$ 1 $$;\n")
    monkeypatch.setattr("core.sql.ROOT", tmp_path)
    pinned = hashlib.sha256(path.read_bytes()).hexdigest()
    assert sql_file("demo", path.name, sha256=pinned) == path.read_text()
    path.write_text(path.read_text().replace("$$ 1 $$", "$$ 2 $$"))
    with pytest.raises(SqlFileChanged, match="new file named for a new migration"):
        sql_file("demo", path.name, sha256=pinned)


@pytest.mark.django_db
def test_every_platform_function_in_the_database_has_its_file():
    """No server-side function lives outside the files: the WSGI front's labeling_next() and
    labeling_submit() were dropped with it (labeling 0010)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
            "WHERE n.nspname = 'public' "
            "AND (proname LIKE 'labeling_%%' OR proname LIKE 'billing_%%')"
        )
        installed = {row[0] for row in cursor.fetchall()}
    assert installed == set(newest_files())
