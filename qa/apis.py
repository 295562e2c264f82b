"""The quality part of the public API (../shared/API.md): agreement, the review queue, audits
(exports are the exports app's)."""

from __future__ import annotations

import csv
import datetime
import io

import orjson
from django.http import HttpResponse
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response

from core.api import Allow
from core.formulas import row_guard
from core.inputs import InputSerializer, no_body
from core.params import Params
from core.roles import PROJECT_READERS, REVIEWERS
from labeling.apis import ConflictError, ItemDetailOutput
from tenancy.apis import ProjectApi, TenantApi

from . import reports, selectors, services
from .data import Filters
from .models import (
    Audit,
    ReviewDecision,
    ReviewReason,
    ReviewStatus,
    ReviewTask,
)
from .tasks import truth_model_refit


def report_filters(params: Params) -> Filters:
    """The report's filters from query parameters; a bad one is noted on `params` (its
    `check()` raises them, naming each)."""
    filters = Filters(
        date_from=params.date("from"),
        date_to=params.date("to"),
        dataset=params.id("dataset"),
        annotator=params.id("annotator"),
    )
    if filters.date_from and filters.date_to and filters.date_from > filters.date_to:
        params.error("to", "Must not be before `from`.")
    return filters


FILTER_PARAMETERS = [
    OpenApiParameter("from", datetime.date, description="Annotations made on or after this day."),
    OpenApiParameter("to", datetime.date, description="Annotations made on or before this day."),
    OpenApiParameter("dataset", int),
    OpenApiParameter("annotator", int, description="The items this annotator labeled."),
]


_REPORTS = Allow(PROJECT_READERS, "Annotators see their own figures on the labeling page.")
_REVIEWS = Allow(REVIEWERS, "The review queue is the QA leads' and operators'.")


class ProjectAgreementApi(ProjectApi):
    roles = {"GET": _REPORTS}

    @extend_schema(
        parameters=FILTER_PARAMETERS,
        responses={
            200: inline_serializer(
                "AgreementReport",
                {
                    "items": serializers.IntegerField(),
                    "annotations": serializers.IntegerField(),
                    "annotators": serializers.IntegerField(),
                    "krippendorff_alpha": serializers.FloatField(allow_null=True),
                    "krippendorff_alpha_ci": serializers.ListField(
                        child=serializers.FloatField(), allow_null=True
                    ),
                    "fleiss_kappa": serializers.FloatField(allow_null=True),
                    "mean_pairwise_cohen_kappa": serializers.FloatField(allow_null=True),
                    "per_label": serializers.ListField(child=serializers.DictField()),
                    "per_annotator": serializers.ListField(child=serializers.DictField()),
                    "confusion": serializers.DictField(allow_null=True),
                    "over_time": serializers.ListField(child=serializers.DictField()),
                    "reasons": serializers.DictField(),
                    "computed_at": serializers.DateTimeField(),
                    "as_of": serializers.DateTimeField(
                        help_text="The snapshot's time: every annotation committed by then is in."
                    ),
                    "stale": serializers.BooleanField(),
                },
            ),
            202: inline_serializer("AgreementComputing", {"status": serializers.CharField()}),
        },
    )
    def get(self, request, project_id):
        params = Params(request.query_params)
        filters = report_filters(params)
        params.check()
        report, state = reports.report_get(project=self.project, filters=filters)
        if report is None:
            return Response(
                {"status": "computing", **state},
                status=status.HTTP_202_ACCEPTED,
                headers={"Retry-After": "5"},
            )
        return Response({**report, **state})


# Tables of the report that download as CSV or JSON.
TABLES = ("per_annotator", "per_label", "confusion", "over_time")


def table_rows(report: dict, table: str) -> list[dict]:
    if table == "confusion":
        confusion = report.get("confusion")
        if not confusion:
            return []
        return [
            {"consensus": label, **dict(zip(confusion["labels"], row, strict=True))}
            for label, row in zip(confusion["labels"], confusion["matrix"], strict=True)
        ]
    return list(report.get(table) or [])


class ProjectAgreementDownloadApi(ProjectApi):
    roles = {"GET": _REPORTS}

    def perform_content_negotiation(self, request, force=False):
        # `format` names the file's format here, not a DRF renderer: errors still render JSON.
        return super().perform_content_negotiation(request, force=True)

    @extend_schema(
        parameters=[
            OpenApiParameter("table", enum=TABLES, default="per_annotator"),
            OpenApiParameter("format", enum=("csv", "json")),
            *FILTER_PARAMETERS,
        ],
        responses={(200, "text/csv"): bytes, (200, "application/json"): bytes},
    )
    def get(self, request, project_id):
        params = Params(request.query_params)
        table = params.choice("table", TABLES, default="per_annotator")
        fmt = params.choice("format", ("csv", "json"), default="csv")
        filters = report_filters(params)
        params.check()
        report, _ = reports.report_get(project=self.project, filters=filters)
        if report is None:
            raise ConflictError("The report is being computed; try again in a few seconds.")
        rows = table_rows(report, table)
        name = f"project-{self.project.pk}-{table}.{fmt}"
        if fmt == "json":
            response = HttpResponse(orjson.dumps(rows), content_type="application/json")
        else:
            buffer = io.StringIO()
            columns = list(rows[0]) if rows else []
            writer = csv.writer(buffer)
            if columns:
                writer.writerow(row_guard(columns))  # label names become columns
            for row in rows:
                writer.writerow(row_guard(row.get(column) for column in columns))
            response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response


# --- the review queue -----------------------------------------------------------------------


class ReviewOutput(serializers.ModelSerializer):
    decided_by = serializers.CharField(source="decided_by.username", allow_null=True, default=None)

    class Meta:
        model = ReviewTask
        fields = [
            "id",
            "project",
            "item",
            "reason",
            "detail",
            "status",
            "proposed_label",
            "confidence",
            "audit",
            "decision",
            "label",
            "defect",
            "decided_by",
            "created_at",
            "decided_at",
        ]


class ReviewDetailOutput(ReviewOutput):
    item = serializers.SerializerMethodField()

    def get_item(self, review) -> dict:
        return ItemDetailOutput(self.context["item"]).data


class ReviewDecisionInput(InputSerializer):
    decision = serializers.ChoiceField(choices=ReviewDecision.choices)
    label = serializers.JSONField(required=False)


REVIEW_PAGE = 200


class ProjectReviewListApi(ProjectApi):
    roles = {"GET": _REVIEWS}

    @extend_schema(
        parameters=[
            OpenApiParameter("status", enum=ReviewStatus.values),
            OpenApiParameter("reason", enum=ReviewReason.values),
            OpenApiParameter("audit", int),
        ],
        responses=inline_serializer(
            "ReviewQueue",
            {
                "open": serializers.DictField(child=serializers.IntegerField()),
                "results": ReviewOutput(many=True),
            },
        ),
    )
    def get(self, request, project_id):
        params = Params(request.query_params)
        review_status = params.choice("status", ReviewStatus.values)
        reason = params.choice("reason", ReviewReason.values)
        audit_id = params.id("audit")
        params.check()
        reviews = selectors.review_list(
            project=self.project,
            status=review_status,
            reason=reason,
            audit_id=audit_id,
        )[:REVIEW_PAGE]
        return Response(
            {
                "open": selectors.review_counts(project=self.project),
                "results": ReviewOutput(reviews, many=True).data,
            }
        )


class ReviewDetailApi(TenantApi):
    roles = {"GET": _REVIEWS, "POST": _REVIEWS}

    def resolve(self, request, **kwargs) -> None:
        self.review = selectors.access_review(user=request.user, review_id=kwargs["review_id"])

    @extend_schema(responses=ReviewDetailOutput)
    def get(self, request, review_id):
        review = self.review
        item = selectors.review_items(reviews=[review])[review.item_id]
        return Response(ReviewDetailOutput(review, context={"item": item}).data)

    @extend_schema(request=ReviewDecisionInput, responses=ReviewOutput)
    def post(self, request, review_id):
        review = self.review
        if not selectors.user_may_review(user=request.user, project=review.project):
            self.deny("Only the project's QA leads and operators decide reviews.")
        serializer = ReviewDecisionInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            review = services.review_decide(
                review=review,
                user=request.user,
                decision=serializer.validated_data["decision"],
                label=serializer.validated_data.get("label"),
            )
        except services.Conflict as exc:
            raise ConflictError(str(exc)) from exc
        return Response(ReviewOutput(review).data)


# --- audits -----------------------------------------------------------------------------------


class AuditOutput(serializers.ModelSerializer):
    class Meta:
        model = Audit
        fields = [
            "id",
            "project",
            "status",
            "lot_from",
            "lot_to",
            "lot_size",
            "aql",
            "code_letter",
            "plan_letter",
            "sample_size",
            "accept",
            "reject",
            "inspected",
            "defects",
            "reworked_items",
            "created_at",
            "decided_at",
        ]


class ProjectAuditListCreateApi(ProjectApi):
    roles = {
        "GET": _REPORTS,
        "POST": Allow(REVIEWERS, "Only the project's QA leads and operators start audits."),
    }

    @extend_schema(responses=AuditOutput(many=True))
    def get(self, request, project_id):
        return Response(
            AuditOutput(selectors.audit_list(project=self.project)[:200], many=True).data
        )

    @extend_schema(request=None, responses={201: AuditOutput})
    def post(self, request, project_id):
        if not selectors.user_may_review(user=request.user, project=self.project):
            self.deny("Only the project's QA leads and operators start audits.")
        no_body(request)
        audit = services.audit_create(project=self.project, user=request.user)
        return Response(AuditOutput(audit).data, status=status.HTTP_201_CREATED)


class AuditDetailApi(TenantApi):
    roles = {"GET": _REPORTS}

    def resolve(self, request, **kwargs) -> None:
        self.audit = selectors.access_audit(user=request.user, audit_id=kwargs["audit_id"])

    @extend_schema(responses=AuditOutput)
    def get(self, request, audit_id):
        return Response(AuditOutput(self.audit).data)


class ProjectConsensusRefitApi(ProjectApi):
    roles = {"POST": Allow(REVIEWERS, "Only the project's QA leads and operators refit consensus.")}

    @extend_schema(
        request=None,
        responses={202: inline_serializer("RefitQueued", {"status": serializers.CharField()})},
    )
    def post(self, request, project_id):
        """Refit Dawid-Skene over the whole project and rewrite the consensus labels."""
        if not selectors.user_may_review(user=request.user, project=self.project):
            self.deny("Only the project's QA leads and operators refit consensus.")
        no_body(request)
        if self.project.consensus != "dawid_skene":
            raise exceptions.ValidationError(
                {"consensus": ["This project uses majority vote: there is nothing to fit."]}
            )
        truth_model_refit.delay(
            organization_id=self.project.organization_id, project_id=self.project.pk
        )
        return Response({"status": "queued"}, status=status.HTTP_202_ACCEPTED)
