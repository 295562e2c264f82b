"""`manage.py demo`: seed the demo installation (idempotent) and print the logins.

Each app contributes through a `demo.py` module with `seed(context)`, run in INSTALLED_APPS
order, so that a later capability extends the demo without tenancy importing it.
"""

import os
from importlib import import_module
from importlib.util import find_spec

from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import transaction

from tenancy.demo import DEMO_PASSWORD, DEMO_USERS, already_seeded


class Command(BaseCommand):
    help = "Seed demo data (a vendor, two clients, one user per role, projects with items)."

    def handle(self, *args, **options):
        if already_seeded():
            self.stdout.write("Demo data is there already; nothing to add.")
        else:
            context: dict = {"stdout": self.stdout}
            with transaction.atomic():
                for config in apps.get_app_configs():
                    module_name = f"{config.name}.demo"
                    if find_spec(module_name) is None:
                        continue
                    self.stdout.write(f"Seeding {config.verbose_name}...")
                    import_module(module_name).seed(context)
            self.stdout.write(self.style.SUCCESS("Demo data ready."))
        port = os.environ.get("WEB_PORT", "8000")
        self.stdout.write(
            f"\nLog in at http://127.0.0.1:{port}/ as any of these "
            f"(password for all: {DEMO_PASSWORD}):"
        )
        for username, role, organization in DEMO_USERS:
            self.stdout.write(f"  {username:<18} {role:<14} {organization}")
