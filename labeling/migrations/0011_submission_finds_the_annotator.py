"""labeling_submission() finds the caller's annotator identity itself when not given one (and
answers its id), so a submission is one round trip (labeling/sql/labeling_submission.0011.sql).
Its result gains a column, which CREATE OR REPLACE cannot change: the function is dropped and
made again, in this migration's transaction. Backwards: 0009's function again."""

from django.db import migrations

from core.sql import sql_file

DROP = (
    "DROP FUNCTION labeling_submission(bigint, integer, bigint, jsonb, integer, timestamptz, "
    "date, boolean)"
)
SUBMISSION = sql_file(
    "labeling",
    "labeling_submission.0011.sql",
    sha256="91cf72b7fea8525e04e12c4b9fc30c573baef8d350856e726b8463d876248541",
)
PREVIOUS = sql_file(
    "labeling",
    "labeling_submission.0009.sql",
    sha256="b31e445f153601ecf14a0eb16c5b1ab725fd9eee3b795d55ebcf7c053ec40eb0",
)


class Migration(migrations.Migration):
    dependencies = [("labeling", "0010_drop_front_functions")]

    operations = [migrations.RunSQL([DROP, SUBMISSION], [DROP, PREVIOUS])]
