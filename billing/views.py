"""Pages of billing: a client's throughput dashboard and its monthly statements (with CSV)."""

import csv

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from core.formulas import cell_guard
from tenancy.models import Project

from . import charts, periods, selectors


@login_required
def organization_usage(request, organization_id: int):
    organization = selectors.access_billed_organization(
        user=request.user, organization_id=organization_id
    )
    context = {
        "organization": organization,
        "projects": Project.objects.filter(organization=organization).order_by("name"),
        "params": request.GET,
    }
    try:
        usage_range = periods.usage_range_parse(organization=organization, params=request.GET)
    except ValidationError as exc:
        context["errors"] = exc.message_dict
        return render(request, "billing/organization_usage.html", context, status=400)
    data = selectors.throughput(organization=organization, usage_range=usage_range)
    breach_days = {breach["day"] for breach in data["sla_breaches"]}
    month = usage_range.end.strftime("%Y-%m")
    context.update(
        usage_range=usage_range,
        data=data,
        chart=charts.bar_chart(
            [(day["day"], day["items_completed"]) for day in data["days"]], flagged=breach_days
        ),
        statement=selectors.statement_for(organization=organization, month=month),
        months=periods.months_between(usage_range.start, usage_range.end),
    )
    return render(request, "billing/organization_usage.html", context)


def _statement(request, organization_id: int, month: str):
    organization = selectors.access_billed_organization(
        user=request.user, organization_id=organization_id
    )
    try:
        statement = selectors.statement_for(organization=organization, month=month)
    except ValidationError as exc:
        raise Http404("No such month.") from exc
    return organization, statement


@login_required
def organization_statement(request, organization_id: int, month: str):
    organization, statement = _statement(request, organization_id, month)
    context = {
        "organization": organization,
        "statement": statement,
        "previous_month": periods.month_shift(statement.month, -1),
        "next_month": periods.month_shift(statement.month, 1),
        "this_month": timezone.localdate().strftime("%Y-%m"),
    }
    return render(request, "billing/organization_statement.html", context)


@login_required
def organization_statement_csv(request, organization_id: int, month: str):
    organization, statement = _statement(request, organization_id, month)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="statement-{organization.slug}-{statement.month}.csv"'
    )
    writer = csv.writer(response)
    writer.writerow(
        [
            "organization",
            "month",
            "currency",
            "period_from",
            "period_to",
            "description",
            "quantity",
            "unit_price",
            "amount",
        ]
    )
    name = cell_guard(organization.name)
    for line in statement.lines:
        writer.writerow(
            [
                name,
                statement.month,
                statement.currency,
                line.period_from.isoformat(),
                line.period_to.isoformat(),
                cell_guard(line.description),
                line.quantity,
                f"{line.unit_price:.4f}",
                f"{line.amount:.2f}",
            ]
        )
    writer.writerow(
        [
            name,
            statement.month,
            statement.currency,
            "",
            "",
            "Total",
            "",
            "",
            f"{statement.total:.2f}",
        ]
    )
    return response
