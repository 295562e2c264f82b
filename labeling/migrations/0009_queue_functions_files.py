"""The task queue's claim and submission from labeling/sql/ (core/sql.py says how the files are
versioned).

Backwards the functions stay: 0007 installs the same rules, and its reverse drops them.
"""

from django.db import migrations

from core.sql import sql_file

CLAIM = sql_file(
    "labeling",
    "labeling_claim.0009.sql",
    sha256="7997c00c91033720fc2da98795634e1fee33a6f026ebe51896a59168c92530e6",
)
SUBMISSION = sql_file(
    "labeling",
    "labeling_submission.0009.sql",
    sha256="b31e445f153601ecf14a0eb16c5b1ab725fd9eee3b795d55ebcf7c053ec40eb0",
)


class Migration(migrations.Migration):
    dependencies = [
        ("labeling", "0008_modelversion_to_prelabels"),
        ("billing", "0004_usage_annotation_function_file"),
    ]

    # A list: each item runs as one statement, unsplit, without placeholders.
    operations = [migrations.RunSQL([CLAIM, SUBMISSION], migrations.RunSQL.noop)]
