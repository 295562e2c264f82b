# The Export model moves here from qa (qa 0002 removes it from qa's state): this takes over the
# existing table qa_export in state only, so a database migrated from before keeps every row.
# 0002 then renames the table to this app's name.

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def content_type_follows(apps, schema_editor):
    """Permissions and admin log entries of qa.export belong to exports.export now (a fresh
    database has no content types yet: post_migrate creates exports.export itself)."""
    ContentType = apps.get_model('contenttypes', 'ContentType')
    if not ContentType.objects.filter(app_label='exports', model='export').exists():
        ContentType.objects.filter(app_label='qa', model='export').update(app_label='exports')


def content_type_goes_back(apps, schema_editor):
    ContentType = apps.get_model('contenttypes', 'ContentType')
    if not ContentType.objects.filter(app_label='qa', model='export').exists():
        ContentType.objects.filter(app_label='exports', model='export').update(app_label='qa')


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('contenttypes', '0002_remove_content_type_name'),
        ('qa', '0001_initial'),
        ('tenancy', '0004_project_aql'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='Export',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('format', models.CharField(choices=[('jsonl', 'JSON lines'), ('csv', 'CSV'), ('label_studio', 'Label Studio JSON')], max_length=16)),
                        ('filters', models.JSONField(blank=True, default=dict)),
                        ('include_annotations', models.BooleanField(default=True)),
                        ('incremental', models.BooleanField(default=False, help_text='Only items whose final label changed since the last export.')),
                        ('since', models.DateTimeField(blank=True, help_text='Incremental: changed after.', null=True)),
                        ('status', models.CharField(choices=[('queued', 'Queued'), ('running', 'Running'), ('succeeded', 'Succeeded'), ('failed', 'Failed')], default='queued', max_length=16)),
                        ('total', models.PositiveIntegerField(default=0, help_text='Items to write (for progress).')),
                        ('rows', models.PositiveIntegerField(default=0)),
                        ('file', models.FileField(blank=True, max_length=500, upload_to='exports/')),
                        ('size_bytes', models.BigIntegerField(default=0)),
                        ('sha256', models.CharField(blank=True, max_length=64)),
                        ('certificate', models.JSONField(blank=True, null=True)),
                        ('message', models.TextField(blank=True, default='')),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('started_at', models.DateTimeField(blank=True, null=True)),
                        ('finished_at', models.DateTimeField(blank=True, null=True)),
                        ('expires_at', models.DateTimeField(blank=True, help_text='The link works until.', null=True)),
                        ('created_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                        ('organization', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='tenancy.organization')),
                        ('project', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='exports', to='tenancy.project')),
                    ],
                    options={
                        'ordering': ['-created_at'],
                        'db_table': 'qa_export',
                        'indexes': [models.Index(fields=['organization', 'project', 'created_at'], name='qa_export_organiz_f0dc09_idx')],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(content_type_follows, content_type_goes_back),
    ]
