"""Demo billing: a rate card per client, in force since last month, and a turnaround target per
project; the usage is what the demo's import and simulated workforce counted."""

import datetime
from decimal import Decimal

from django.utils import timezone

from .services import project_sla_set, rate_card_create


def seed(context: dict) -> None:
    projects, users = context["projects"], context["users"]
    this_month = timezone.localdate().replace(day=1)
    last_month = (this_month - datetime.timedelta(days=1)).replace(day=1)
    northwind = projects["reviews"].organization
    globex = projects["tickets"].organization
    operator = users["operator"]
    rate_card_create(
        organization=northwind,
        currency="USD",
        effective_from=last_month,
        per_completed_item=Decimal("0.1200"),
        per_annotation=Decimal("0.0350"),
        per_review=Decimal("0.2500"),
        per_exported_item=Decimal("0.0100"),
        created_by=operator,
    )
    rate_card_create(
        organization=globex,
        currency="EUR",
        effective_from=last_month,
        per_completed_item=Decimal("0.2000"),
        per_annotation=Decimal("0.0500"),
        per_review=Decimal("0.4000"),
        per_exported_item=Decimal("0.0000"),
        created_by=operator,
    )
    project_sla_set(project=projects["reviews"], target_hours=48, updated_by=operator)
    project_sla_set(project=projects["tickets"], target_hours=24, updated_by=operator)
    context["stdout"].write(
        "  rate cards: Northwind Retail in USD, Globex Health in EUR; "
        "turnaround targets 48 h and 24 h"
    )
