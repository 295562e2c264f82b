"""The labeling part of the public API: imports, datasets and items (../shared/API.md)."""

from __future__ import annotations

import base64
import binascii
import logging
from contextlib import nullcontext

from django.db import DatabaseError, transaction
from drf_spectacular.utils import (
    OpenApiParameter,
    PolymorphicProxySerializer,
    extend_schema,
    extend_schema_field,
    inline_serializer,
)
from rest_framework import exceptions, serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response

from core.api import Allow
from core.inputs import InputSerializer, IntegerField, no_body
from core.params import Params, parse_id
from core.roles import CLIENT_MANAGERS, CLIENT_SIDE, LABELERS, PROJECT_READERS
from tenancy.apis import ProjectApi, TenantApi
from tenancy.selectors import user_may_annotate, user_may_change_project

from . import queue, selectors
from .imports.services import import_job_create
from .models import ImportFormat, ImportJob, ItemStatus, OnError

logger = logging.getLogger(__name__)


_IMPORTS_READ = Allow(CLIENT_SIDE, "Imports are the client's and operators'.")
_UPLOAD = Allow(CLIENT_MANAGERS, "Only operators and the client's admins upload datasets.")
_DATA_READ = Allow(PROJECT_READERS, "Annotators see items through the queue.")
_LABEL = Allow(LABELERS, "Only the project's annotators label its items.")


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


class ImportCreateInput(InputSerializer):
    file = serializers.FileField()
    dataset = serializers.CharField(required=False, max_length=200)
    on_error = serializers.ChoiceField(choices=OnError.choices, default=OnError.FAIL)
    format = serializers.ChoiceField(choices=ImportFormat.choices, required=False)


class ProjectImportListCreateApi(ProjectApi):
    parser_classes = [MultiPartParser]
    roles = {"GET": _IMPORTS_READ, "POST": _UPLOAD}

    @extend_schema(responses=ImportJobOutput(many=True))
    def get(self, request, project_id):
        jobs = selectors.import_job_list(project=self.project)[:200]
        return Response(ImportJobOutput(jobs, many=True).data)

    @extend_schema(
        request={"multipart/form-data": ImportCreateInput},
        responses={202: ImportJobOutput},
    )
    def post(self, request, project_id):
        if not user_may_change_project(user=request.user, project=self.project):
            self.deny(_UPLOAD.message)
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
    roles = {"GET": _IMPORTS_READ}

    def resolve(self, request, **kwargs) -> None:
        self.job = selectors.access_import_job(user=request.user, job_id=kwargs["job_id"])

    @extend_schema(responses=ImportJobOutput)
    def get(self, request, job_id):
        return Response(ImportJobOutput(self.job).data)


class DatasetOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    items = serializers.IntegerField(source="item_count")
    created_at = serializers.DateTimeField()


class ProjectDatasetListApi(ProjectApi):
    roles = {"GET": _DATA_READ}

    @extend_schema(responses=DatasetOutput(many=True))
    def get(self, request, project_id):
        return Response(DatasetOutput(selectors.dataset_list(project=self.project), many=True).data)


def prelabel_of(item) -> dict | None:
    if item.prelabel is None:
        return None
    return {"label": item.prelabel, "confidence": item.prelabel_confidence}


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
        return prelabel_of(item)


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


def _decode_cursor(params: Params) -> int | None:
    cursor = params.raw("cursor")
    if cursor is None:
        return None
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        prefix, _, value = text.partition(":")
        if prefix != "after":
            raise ValueError(text)
        return parse_id(value)
    except (ValueError, binascii.Error, UnicodeDecodeError):  # Invalid is a ValueError
        params.error("cursor", "This cursor is not one this API gave.")
        return None


class ProjectItemListApi(ProjectApi):
    roles = {"GET": _DATA_READ}

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
        params = Params(request.query_params)
        item_status = params.choice("status", ItemStatus.values)
        dataset = params.id("dataset")
        limit = params.integer("limit", minimum=1, maximum=PAGE_MAX, default=PAGE_DEFAULT)
        after = _decode_cursor(params)
        params.check()
        items = selectors.item_page(
            project=self.project,
            status=item_status,
            dataset_id=dataset,
            after_id=after,
            limit=limit + 1,
        )
        next_url = None
        if len(items) > limit:
            items = items[:limit]
            query = request.query_params.copy()
            query["cursor"] = _encode_cursor(items[-1].pk)
            next_url = request.build_absolute_uri(f"{request.path}?{query.urlencode()}")
        return Response({"results": ItemOutput(items, many=True).data, "next": next_url})


class ItemApi(TenantApi):
    """Base of the endpoints under items/{item_id}/: the item, through the caller's scope."""

    def resolve(self, request, **kwargs) -> None:
        self.item = selectors.access_item(user=request.user, item_id=kwargs["item_id"])


class ItemDetailApi(ItemApi):
    roles = {"GET": _DATA_READ}

    @extend_schema(responses=ItemDetailOutput)
    def get(self, request, item_id):
        return Response(ItemDetailOutput(self.item).data)


# --- the task queue (annotators) ----------------------------------------------------------


class ConflictError(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The request conflicts with the item's state."
    default_code = "conflict"


class TaskOutput(serializers.Serializer):
    item = serializers.IntegerField()
    data = serializers.JSONField()
    prelabel = PrelabelOutput(allow_null=True)
    lease_expires = serializers.DateTimeField()


# One serializer renders every task: making one per answer (it deep-copies its fields) cost
# more than the rendering itself, on every `next`.
_TASK_OUTPUT = TaskOutput()


def task_payload(lease) -> dict:
    item, project = lease.item, lease.item.project
    shown = queue.prelabel_shown(project=project, item=item, lease=lease)
    return task_representation(
        item_id=item.pk,
        data=item.data,
        prelabel=prelabel_of(item) if shown else None,
        lease_expires=lease.expires_at,
    )


def task_representation(*, item_id: int, data, prelabel: dict | None, lease_expires) -> dict:
    """A task as `next` answers it."""
    return _TASK_OUTPUT.to_representation(
        {"item": item_id, "data": data, "prelabel": prelabel, "lease_expires": lease_expires}
    )


def _require_annotator(api: TenantApi, user, project) -> None:
    if not user_may_annotate(user=user, project=project):
        api.deny(_LABEL.message)


class ProjectNextApi(ProjectApi):
    roles = {"POST": _LABEL}

    @extend_schema(request=None, responses={200: TaskOutput, 204: None})
    def post(self, request, project_id):
        _require_annotator(self, request.user, self.project)
        no_body(request)
        lease = queue.lease_next(project=self.project, user=request.user)
        if lease is None:
            return Response(status=status.HTTP_204_NO_CONTENT)
        lease.item.project = self.project
        return Response(task_payload(lease))


class AnnotationInput(InputSerializer):
    label = serializers.JSONField()
    duration_ms = IntegerField(min_value=0, max_value=86_400_000, required=False)
    next = serializers.BooleanField(
        required=False, default=False, help_text="Answer with the caller's next task as well."
    )


class AnnotationCreatedOutput(serializers.Serializer):
    id = serializers.IntegerField()
    item_status = serializers.CharField()


class AnnotationCreatedWithNextOutput(serializers.Serializer):
    annotation = AnnotationCreatedOutput()
    next = TaskOutput(allow_null=True, help_text="null: nothing is left for the caller.")


NEXT_FAILED = "The label is saved; the next task could not be fetched: ask for it with next/."


class ItemAnnotationCreateApi(ItemApi):
    roles = {"POST": _LABEL}

    @extend_schema(
        request=AnnotationInput,
        responses={201: PolymorphicProxySerializer(
            component_name="AnnotationCreateAnswer",
            serializers=[AnnotationCreatedOutput, AnnotationCreatedWithNextOutput],
            resource_type_field_name=None,
        )},
    )  # fmt: skip
    def post(self, request, item_id):
        item = self.item
        _require_annotator(self, request.user, item.project)
        serializer = AnnotationInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            annotation = queue.annotation_submit(
                item=item,
                user=request.user,
                label=serializer.validated_data["label"],
                duration_ms=serializer.validated_data.get("duration_ms"),
            )
        except queue.Conflict as exc:
            raise ConflictError(str(exc)) from exc
        created = {"id": annotation.pk, "item_status": annotation.item.status}
        if not serializer.validated_data["next"]:
            return Response(created, status=status.HTTP_201_CREATED)
        # The combined call: the label is committed (annotation_submit's own transaction);
        # the claim is the same service `next/` calls, in a transaction of its own. A claim
        # that fails leaves the committed label answered as committed. (Inside the transaction
        # of an Idempotency-Key the claim gets a savepoint, so that its failure leaves the
        # label to commit.)
        try:
            with transaction.atomic() if self.once is not None else nullcontext():
                lease = queue.lease_next(project=item.project, user=request.user)
        except DatabaseError:
            logger.warning("queue.next_after_submit_failed", exc_info=True)
            answer = {"annotation": created, "next": None, "next_error": NEXT_FAILED}
            return Response(answer, status=status.HTTP_201_CREATED)
        if lease is not None:
            lease.item.project = item.project
        task = task_payload(lease) if lease is not None else None
        return Response({"annotation": created, "next": task}, status=status.HTTP_201_CREATED)


class ItemSkipApi(ItemApi):
    roles = {"POST": _LABEL}

    @extend_schema(request=None, responses={204: None})
    def post(self, request, item_id):
        _require_annotator(self, request.user, self.item.project)
        no_body(request)
        queue.item_skip(item=self.item, user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class AnnotationUndoApi(TenantApi):
    roles = {"POST": _LABEL}

    def resolve(self, request, **kwargs) -> None:
        self.annotation = selectors.access_own_annotation(
            user=request.user, annotation_id=kwargs["annotation_id"]
        )

    @extend_schema(request=None, responses={200: TaskOutput})
    def post(self, request, annotation_id):
        no_body(request)
        try:
            lease = queue.annotation_undo(annotation=self.annotation, user=request.user)
        except queue.Conflict as exc:
            raise ConflictError(str(exc)) from exc
        return Response(task_payload(lease))


class ProjectMyStatsApi(ProjectApi):
    roles = {"GET": _LABEL}

    @extend_schema(
        responses=inline_serializer(
            "AnnotatorStats",
            {
                "today": serializers.IntegerField(),
                "gold_answered": serializers.IntegerField(),
                "gold_accuracy": serializers.FloatField(allow_null=True),
            },
        )
    )
    def get(self, request, project_id):
        _require_annotator(self, request.user, self.project)
        return Response(queue.annotator_stats(project=self.project, user=request.user))
