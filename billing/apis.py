"""The billing part of the public API (../shared/API.md): usage, statements, throughput, rate
cards and turnaround targets. A client's billing is read by its own people and the operators;
another tenant's answers 404."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.response import Response

from core.api import Allow
from core.inputs import DateField, InputSerializer, IntegerField
from core.roles import ANY, CLIENT_SIDE, OPERATORS
from tenancy.apis import ProjectApi, TenantApi
from tenancy.models import Role

from . import periods, selectors, services
from .models import COUNTERS, RateCard
from .statements import Statement

RANGE_PARAMETERS = [
    OpenApiParameter("from", str, description="First day, YYYY-MM-DD (default: 30 days ago)"),
    OpenApiParameter("to", str, description="Last day, included, YYYY-MM-DD (default: today)"),
    OpenApiParameter("project", int, description="Only this project of the organization"),
]


class BilledOrganizationApi(TenantApi):
    """Base of organizations/{id}/<billing>/: the client organization, resolved once (404 for
    another tenant's, 403 for the vendor's workforce)."""

    roles = {"GET": Allow(CLIENT_SIDE, "Only operators and the client's people see its usage.")}

    def resolve(self, request, **kwargs) -> None:
        self.organization = selectors.access_billed_organization(
            user=request.user, organization_id=kwargs["organization_id"]
        )


# --- usage ----------------------------------------------------------------------------------


UsageRowOutput = inline_serializer(
    "UsageRow",
    {
        "day": serializers.DateField(),
        "project": serializers.IntegerField(),
        "project_name": serializers.CharField(),
        **{name: serializers.IntegerField() for name in COUNTERS},
    },
    many=True,
)


class OrganizationUsageApi(BilledOrganizationApi):
    @extend_schema(parameters=RANGE_PARAMETERS, responses=UsageRowOutput)
    def get(self, request, organization_id):
        """The organization's usage, one row per project and day with work counted."""
        usage_range = periods.usage_range_parse(
            organization=self.organization, params=request.query_params
        )
        rows = selectors.usage_rows(organization=self.organization, usage_range=usage_range)
        for row in rows:
            row["day"] = row["day"].isoformat()
        return Response(rows)


# --- statements -----------------------------------------------------------------------------


class StatementLineOutput(serializers.Serializer):
    description = serializers.CharField()
    counter = serializers.CharField()
    period_from = serializers.DateField()
    period_to = serializers.DateField()
    rate_card = serializers.IntegerField(allow_null=True)
    quantity = serializers.IntegerField()
    unit_price = serializers.DecimalField(max_digits=16, decimal_places=4)
    amount = serializers.DecimalField(max_digits=20, decimal_places=2)


class StatementOutput(serializers.Serializer):
    organization = serializers.IntegerField(source="organization_id")
    month = serializers.CharField()
    currency = serializers.CharField()
    closed = serializers.BooleanField(help_text="The month is over.")
    lines = StatementLineOutput(many=True)
    total = serializers.DecimalField(max_digits=20, decimal_places=2)
    warnings = serializers.ListField(child=serializers.CharField())


def statement_payload(statement: Statement) -> dict:
    return StatementOutput(statement).data


class OrganizationStatementApi(BilledOrganizationApi):
    @extend_schema(responses=StatementOutput)
    def get(self, request, organization_id, month):
        """The month's statement: each priced counter per rate-card period, amounts rounded
        half-up to cents per line, the total the sum of the lines (money as decimal strings)."""
        statement = selectors.statement_for(organization=self.organization, month=month)
        return Response(statement_payload(statement))


# --- throughput -----------------------------------------------------------------------------


class ThroughputOutput(serializers.Serializer):
    """The dashboard's figures; turnaround in seconds (see `turnaround.resolution`)."""

    days = serializers.ListField(child=serializers.DictField())
    totals = serializers.DictField(child=serializers.IntegerField())
    backlog = serializers.IntegerField(help_text="Items imported minus completed, to `to`.")
    turnaround = serializers.DictField()
    projects = serializers.ListField(child=serializers.DictField())
    annotators = serializers.ListField(child=serializers.DictField())
    sla_breaches = serializers.ListField(child=serializers.DictField())


class OrganizationThroughputApi(BilledOrganizationApi):
    @extend_schema(parameters=RANGE_PARAMETERS, responses=ThroughputOutput)
    def get(self, request, organization_id):
        """Items completed per day, backlog, throughput per annotator, turnaround p50/p90 and
        the days whose p90 turnaround missed a project's target."""
        usage_range = periods.usage_range_parse(
            organization=self.organization, params=request.query_params
        )
        data = selectors.throughput(organization=self.organization, usage_range=usage_range)
        return Response(data)


# --- rate cards -----------------------------------------------------------------------------

PRICE = {"max_digits": 12, "decimal_places": 4, "min_value": 0, "default": 0}


class RateCardOutput(serializers.ModelSerializer):
    class Meta:
        model = RateCard
        fields = [
            "id",
            "organization",
            "currency",
            "effective_from",
            "effective_to",
            "per_completed_item",
            "per_annotation",
            "per_review",
            "per_exported_item",
            "created_at",
        ]


class RateCardInput(InputSerializer):
    currency = serializers.RegexField(
        r"^[A-Z]{3}$", error_messages={"invalid": "An ISO 4217 code such as USD or EUR."}
    )
    effective_from = DateField()
    effective_to = DateField(required=False, allow_null=True, default=None)
    per_completed_item = serializers.DecimalField(**PRICE)
    per_annotation = serializers.DecimalField(**PRICE)
    per_review = serializers.DecimalField(**PRICE)
    per_exported_item = serializers.DecimalField(**PRICE)


class OrganizationRateCardListCreateApi(BilledOrganizationApi):
    roles = {
        **BilledOrganizationApi.roles,
        "POST": Allow(OPERATORS, "Only operators set a client's prices."),
    }

    @extend_schema(responses=RateCardOutput(many=True))
    def get(self, request, organization_id):
        cards = selectors.rate_card_list(organization=self.organization)
        return Response(RateCardOutput(cards, many=True).data)

    @extend_schema(request=RateCardInput, responses={201: RateCardOutput})
    def post(self, request, organization_id):
        """A new rate card. Periods never overlap; one that starts while an open-ended card
        runs is a price change and ends that card the day before."""
        serializer = RateCardInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        card = services.rate_card_create(
            organization=self.organization, created_by=request.user, **serializer.validated_data
        )
        return Response(RateCardOutput(card).data, status=status.HTTP_201_CREATED)


# --- turnaround target ----------------------------------------------------------------------


class SlaInput(InputSerializer):
    target_hours = IntegerField(min_value=1, max_value=24 * 365, allow_null=True)


class SlaOutput(serializers.Serializer):
    project = serializers.IntegerField()
    target_hours = serializers.IntegerField(allow_null=True)


class ProjectSlaApi(ProjectApi):
    """The project's turnaround target: 90% of the items completed within `target_hours` of
    their import, day by day (null: none)."""

    roles = {
        "GET": Allow(ANY - {Role.ANNOTATOR}, "Annotators do not see the project's service level."),
        "PUT": Allow(OPERATORS, "Only operators set a project's service level."),
    }

    @extend_schema(responses=SlaOutput)
    def get(self, request, project_id):
        sla = selectors.project_sla(project=self.project)
        return Response({"project": self.project.pk, "target_hours": sla and sla.target_hours})

    @extend_schema(request=SlaInput, responses=SlaOutput)
    def put(self, request, project_id):
        serializer = SlaInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        sla = services.project_sla_set(
            project=self.project,
            target_hours=serializer.validated_data["target_hours"],
            updated_by=request.user,
        )
        return Response({"project": self.project.pk, "target_hours": sla and sla.target_hours})
