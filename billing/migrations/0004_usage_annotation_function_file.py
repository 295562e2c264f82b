"""billing_usage_annotation() from billing/sql/ (core/sql.py says how the files are versioned).

0003's body was edited after some databases had applied it: CREATE OR REPLACE brings them all
to this one. Backwards the function stays: 0003 installs the same body.
"""

from django.db import migrations

from core.sql import sql_file

USAGE = sql_file(
    "billing",
    "billing_usage_annotation.0004.sql",
    sha256="42e70bea8a438ee06871cd841ae8290060ffa8b9f7502d3b2729f221ab552f40",
)


class Migration(migrations.Migration):
    dependencies = [("billing", "0003_usage_annotation_function")]

    # A list: each item runs as one statement, unsplit, without placeholders (% is modulo).
    operations = [migrations.RunSQL([USAGE], migrations.RunSQL.noop)]
