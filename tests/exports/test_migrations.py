"""The Export model moved from qa to exports without a copy: a database migrated before the
move keeps its exports (same ids, same rows, the id sequence going on) and its content type,
so permissions and admin log entries follow."""

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from exports.models import Export

from ..factories import ExportFactory

BEFORE_THE_MOVE = [("qa", "0001_initial"), ("exports", None)]


def migrate(targets) -> None:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets or executor.loader.graph.leaf_nodes())


@pytest.mark.django_db(transaction=True)
def test_exports_made_before_the_move_are_kept(world):
    content_type = ContentType.objects.get_for_model(Export).pk
    project = world.a.project
    try:
        migrate(BEFORE_THE_MOVE)
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO qa_export (organization_id, project_id, format, filters, "
                "include_annotations, incremental, status, total, rows, file, size_bytes, "
                "sha256, message, created_at) VALUES (%s, %s, 'csv', '{}', true, false, "
                "'succeeded', 7, 7, 'exports/old.csv', 70, %s, '', now()) RETURNING id",
                [project.organization_id, project.pk, "ab" * 32],
            )
            old_id = cursor.fetchone()[0]
        assert ContentType.objects.filter(app_label="qa", model="export", pk=content_type)
    finally:
        migrate(None)
    ContentType.objects.clear_cache()
    kept = Export.objects.get(pk=old_id)
    assert (kept.project, kept.format, kept.status, kept.rows, kept.file.name) == (
        project, "csv", "succeeded", 7, "exports/old.csv"
    )  # fmt: skip
    assert Export._meta.db_table == "exports_export"
    assert ContentType.objects.get_for_model(Export).pk == content_type
    new = ExportFactory(project=project, format="jsonl")
    assert new.pk > old_id
