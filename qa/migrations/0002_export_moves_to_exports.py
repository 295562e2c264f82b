# The Export model moved to the exports app, its table with it (exports 0001-0002): qa forgets
# the model, the database keeps the table and its rows.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('qa', '0001_initial'),
        ('exports', '0001_initial'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name='Export')],
            database_operations=[],
        ),
    ]
