# ModelVersion moved to the prelabels app. Its table and rows stay where they are: this removes
# it from labeling's state only, and prelabels/0001 adds it to prelabels' state on that table.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("labeling", "0007_queue_functions"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="ModelVersion")],
            database_operations=[],
        ),
    ]
