"""The WSGI front's functions go with it: labeling_next() and labeling_submit() read the caller
from their token and re-implemented the "may annotate" rule and the label check in SQL. The
queue's one implementation is labeling_claim() and labeling_submission() (labeling/sql/).

Backwards nothing comes back: no code calls them any more."""

from django.db import migrations

DROP = [
    "DROP FUNCTION IF EXISTS labeling_next(text, bigint, timestamptz, double precision, "
    "double precision, integer)",
    "DROP FUNCTION IF EXISTS labeling_submit(text, bigint, jsonb, integer, timestamptz, date)",
]


class Migration(migrations.Migration):
    dependencies = [("labeling", "0009_queue_functions_files")]

    operations = [migrations.RunSQL(DROP, migrations.RunSQL.noop)]
