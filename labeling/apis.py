"""The labeling part of the public API: imports, datasets and items (../shared/API.md)."""

from __future__ import annotations

import base64
import binascii

from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
    inline_serializer,
)
from rest_framework import exceptions, serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response

from tenancy.apis import ProjectApi, TenantApi
from tenancy.models import Role
from tenancy.selectors import user_may_change_project, user_role

from . import selectors
from .imports.services import import_job_create
from .models import ImportFormat, ImportJob, ItemStatus, OnError

# Who may read a project's data (items, imports, datasets): the client's people, the
# operators and the QA leads; annotators work through the task queue only.
DATA_READERS = {Role.OPERATOR, Role.CLIENT_ADMIN, Role.CLIENT_VIEWER, Role.QA_LEAD}
CLIENT_SIDE = {Role.OPERATOR, Role.CLIENT_ADMIN, Role.CLIENT_VIEWER}


def _require(api: TenantApi, user, roles: set, message: str) -> None:
    if user_role(user) not in roles:
        api.deny(message)


class ImportJobOutput(serializers.ModelSerializer):
    dataset = serializers.SerializerMethodField()
    progress = serializers.SerializerMethodField()

    class Meta:
        model = ImportJob
        fields = [
            "id",
            "project",
            "dataset",
            "dataset_name",
            "original_name",
            "format",
            "compressed",
            "on_error",
            "status",
            "size_bytes",
            "bytes_read",
            "progress",
            "rows",
            "imported",
            "duplicates",
            "failed_rows",
            "annotations_imported",
            "errors",
            "message",
            "created_at",
            "started_at",
            "finished_at",
        ]

    def get_dataset(self, job) -> int | None:
        return job.dataset_id

    def get_progress(self, job) -> float:
        """0..1 of the stored file read; 1 once finished."""
        if job.status in ("succeeded", "failed"):
            return 1.0
        return round(min(1.0, job.bytes_read / job.size_bytes), 4) if job.size_bytes else 0.0


class ImportCreateInput(serializers.Serializer):
    file = serializers.FileField()
    dataset = serializers.CharField(required=False, max_length=200)
    on_error = serializers.ChoiceField(choices=OnError.choices, default=OnError.FAIL)
    format = serializers.ChoiceField(choices=ImportFormat.choices, required=False)


class ProjectImportListCreateApi(ProjectApi):
    parser_classes = [MultiPartParser]

    @extend_schema(responses=ImportJobOutput(many=True))
    def get(self, request, project_id):
        _require(self, request.user, CLIENT_SIDE, "Imports are the client's and operators'.")
        jobs = selectors.import_job_list(project=self.project)[:200]
        return Response(ImportJobOutput(jobs, many=True).data)

    @extend_schema(
        request={"multipart/form-data": ImportCreateInput},
        responses={202: ImportJobOutput},
    )
    def post(self, request, project_id):
        if not user_may_change_project(user=request.user, project=self.project):
            self.deny("Only operators and the client's admins upload datasets.")
        serializer = ImportCreateInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        job = import_job_create(
            project=self.project,
            upload=data["file"],
            created_by=request.user,
            dataset_name=data.get("dataset"),
            on_error=data["on_error"],
            file_format=data.get("format"),
        )
        job.refresh_from_db()  # without a broker the import ran already
        return Response(ImportJobOutput(job).data, status=status.HTTP_202_ACCEPTED)


class ImportJobDetailApi(TenantApi):
    @extend_schema(responses=ImportJobOutput)
    def get(self, request, job_id):
        job = selectors.access_import_job(user=request.user, job_id=job_id)
        _require(self, request.user, CLIENT_SIDE, "Imports are the client's and operators'.")
        return Response(ImportJobOutput(job).data)


class DatasetOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    items = serializers.IntegerField(source="item_count")
    created_at = serializers.DateTimeField()


class ProjectDatasetListApi(ProjectApi):
    @extend_schema(responses=DatasetOutput(many=True))
    def get(self, request, project_id):
        _require(self, request.user, DATA_READERS, "Annotators see items through the queue.")
        return Response(DatasetOutput(selectors.dataset_list(project=self.project), many=True).data)


class PrelabelOutput(serializers.Serializer):
    label = serializers.JSONField()
    confidence = serializers.FloatField(allow_null=True)


class ItemOutput(serializers.Serializer):
    id = serializers.IntegerField()
    external_id = serializers.CharField()
    dataset = serializers.IntegerField(source="dataset_id")
    data = serializers.JSONField()
    status = serializers.CharField()
    label = serializers.JSONField()
    confidence = serializers.FloatField(allow_null=True)
    prelabel = serializers.SerializerMethodField()
    gold = serializers.JSONField(source="gold_label")
    needed = serializers.IntegerField()
    done = serializers.IntegerField()
    created_at = serializers.DateTimeField()

    @extend_schema_field(PrelabelOutput(allow_null=True))
    def get_prelabel(self, item) -> dict | None:
        if item.prelabel is None:
            return None
        return {"label": item.prelabel, "confidence": item.prelabel_confidence}


class AnnotationOutput(serializers.Serializer):
    annotator = serializers.CharField(source="annotator.name")
    label = serializers.JSONField()
    source = serializers.CharField()
    created_at = serializers.DateTimeField()


class ItemDetailOutput(ItemOutput):
    annotations = serializers.SerializerMethodField()

    def get_annotations(self, item) -> list[dict]:
        return AnnotationOutput(selectors.item_annotations(item=item), many=True).data


# Items per page: 100 by default, at most 1,000 (about 1 MB of JSON).
PAGE_DEFAULT, PAGE_MAX = 100, 1_000


def _encode_cursor(item_id: int) -> str:
    return base64.urlsafe_b64encode(f"after:{item_id}".encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        prefix, _, value = text.partition(":")
        if prefix != "after":
            raise ValueError(text)
        return int(value)
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise exceptions.ValidationError(
            {"cursor": ["This cursor is not one this API gave."]}
        ) from exc


class ProjectItemListApi(ProjectApi):
    @extend_schema(
        parameters=[
            OpenApiParameter("status", enum=ItemStatus.values),
            OpenApiParameter("dataset", int),
            OpenApiParameter("cursor", str),
            OpenApiParameter("limit", int),
        ],
        responses=inline_serializer(
            "ItemPage",
            {"results": ItemOutput(many=True), "next": serializers.URLField(allow_null=True)},
        ),
    )
    def get(self, request, project_id):
        _require(self, request.user, DATA_READERS, "Annotators see items through the queue.")
        params = request.query_params
        item_status = params.get("status") or None
        if item_status and item_status not in ItemStatus.values:
            raise exceptions.ValidationError(
                {"status": [f"Choose one of: {', '.join(ItemStatus.values)}."]}
            )
        dataset = params.get("dataset") or None
        if dataset and not dataset.isdigit():
            raise exceptions.ValidationError({"dataset": ["Give a dataset id."]})
        limit = params.get("limit", str(PAGE_DEFAULT))
        if not limit.isdigit() or not 1 <= int(limit) <= PAGE_MAX:
            raise exceptions.ValidationError({"limit": [f"A number from 1 to {PAGE_MAX}."]})
        limit = int(limit)
        after = _decode_cursor(params["cursor"]) if params.get("cursor") else None
        items = selectors.item_page(
            project=self.project,
            status=item_status,
            dataset_id=int(dataset) if dataset else None,
            after_id=after,
            limit=limit + 1,
        )
        next_url = None
        if len(items) > limit:
            items = items[:limit]
            query = params.copy()
            query["cursor"] = _encode_cursor(items[-1].pk)
            next_url = request.build_absolute_uri(f"{request.path}?{query.urlencode()}")
        return Response({"results": ItemOutput(items, many=True).data, "next": next_url})


class ItemDetailApi(TenantApi):
    @extend_schema(responses=ItemDetailOutput)
    def get(self, request, item_id):
        item = selectors.access_item(user=request.user, item_id=item_id)
        _require(self, request.user, DATA_READERS, "Annotators see items through the queue.")
        return Response(ItemDetailOutput(item).data)
