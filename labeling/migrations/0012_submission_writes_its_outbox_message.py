"""labeling_submission() writes a completion's outbox message (core_outbox) in its own
statement, so that what follows a completion is recorded with it, and answers the message's id
(labeling/sql/labeling_submission.0012.sql). Its result gains a column, which CREATE OR
REPLACE cannot change: the function is dropped and made again, in this migration's
transaction. Backwards: 0011's function again."""

from django.db import migrations

from core.sql import sql_file

DROP = (
    "DROP FUNCTION labeling_submission(bigint, integer, bigint, jsonb, integer, timestamptz, "
    "date, boolean)"
)
SUBMISSION = sql_file(
    "labeling",
    "labeling_submission.0012.sql",
    sha256="1c3feccbbd1a71233626149e741e2ecdd66cdb20b4f46352ca103b6112889607",
)
PREVIOUS = sql_file(
    "labeling",
    "labeling_submission.0011.sql",
    sha256="91cf72b7fea8525e04e12c4b9fc30c573baef8d350856e726b8463d876248541",
)


class Migration(migrations.Migration):
    dependencies = [
        ("labeling", "0011_submission_finds_the_annotator"),
        ("core", "0001_outbox"),
    ]

    operations = [migrations.RunSQL([DROP, SUBMISSION], [DROP, PREVIOUS])]
