"""Exactly one vendor organization exists per installation: the BPO that runs it."""

from django.conf import settings
from django.db import migrations
from django.utils.text import slugify


def create_vendor(apps, schema_editor):
    Organization = apps.get_model("tenancy", "Organization")
    if not Organization.objects.filter(kind="vendor").exists():
        name = settings.LQA_VENDOR_NAME
        Organization.objects.create(name=name, slug=slugify(name) or "vendor", kind="vendor")


class Migration(migrations.Migration):
    dependencies = [("tenancy", "0001_initial")]

    operations = [migrations.RunPython(create_vendor, migrations.RunPython.noop)]
