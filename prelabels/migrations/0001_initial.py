# ModelVersion, moved here from labeling: the table labeling/0005 created (labeling_modelversion)
# keeps its name, rows, indexes and constraints, so only the state changes app (labeling/0008
# removes it there). The content type moves too, so permissions and admin history that point
# at it follow.

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def content_type_move(apps, schema_editor, source="labeling", target="prelabels"):
    ContentType = apps.get_model("contenttypes", "ContentType")
    types = ContentType.objects.using(schema_editor.connection.alias)
    if not types.filter(app_label=target, model="modelversion").exists():
        types.filter(app_label=source, model="modelversion").update(app_label=target)


def content_type_back(apps, schema_editor):
    content_type_move(apps, schema_editor, source="prelabels", target="labeling")


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("labeling", "0008_modelversion_to_prelabels"),
        ("tenancy", "0005_project_model_policy"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="ModelVersion",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("kind", models.CharField(blank=True, default="", max_length=32)),
                        ("status", models.CharField(choices=[("queued", "Queued"), ("running", "Running"), ("succeeded", "Succeeded"), ("failed", "Failed")], default="queued", max_length=16)),
                        ("is_current", models.BooleanField(default=False)),
                        ("metrics", models.JSONField(blank=True, default=dict)),
                        ("reliability", models.JSONField(blank=True, default=list)),
                        ("confusion", models.JSONField(blank=True, default=list)),
                        ("label_names", models.JSONField(blank=True, default=list)),
                        ("file", models.FileField(blank=True, max_length=500, upload_to="models/")),
                        ("n_labels_used", models.PositiveIntegerField(default=0)),
                        ("new_completions", models.PositiveIntegerField(default=0, help_text="Items completed since this version became current (retraining).")),
                        ("message", models.TextField(blank=True, default="")),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                        ("started_at", models.DateTimeField(blank=True, null=True)),
                        ("finished_at", models.DateTimeField(blank=True, null=True)),
                        ("created_by", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name="+", to=settings.AUTH_USER_MODEL)),
                        ("organization", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="+", to="tenancy.organization")),
                        ("project", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="model_versions", to="tenancy.project")),
                    ],
                    options={
                        "db_table": "labeling_modelversion",
                        "ordering": ["-created_at", "-id"],
                        "indexes": [models.Index(fields=["organization", "project", "created_at"], name="labeling_mo_organiz_fa44b5_idx")],
                        "constraints": [models.UniqueConstraint(condition=models.Q(("is_current", True)), fields=("project",), name="model_version_one_current_per_project")],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(content_type_move, content_type_back),
    ]
