"""The exports part of the public API (../shared/API.md): start and list a project's exports,
follow one, download its file and its QA certificate."""

from __future__ import annotations

import orjson
from django.core.exceptions import ValidationError
from django.http import FileResponse, HttpResponse
from django.urls import reverse
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response

from core.api import Allow
from core.inputs import DateField, IdField, InputSerializer
from core.jobs import JobStatus
from core.roles import CLIENT_MANAGERS, CLIENT_SIDE
from labeling.apis import ConflictError
from labeling.models import ItemStatus
from tenancy.apis import ProjectApi, TenantApi

from . import selectors, services
from .models import Export, ExportFormat


class ExportOutput(serializers.ModelSerializer):
    progress = serializers.SerializerMethodField()
    download_url = serializers.SerializerMethodField()
    certificate_url = serializers.SerializerMethodField()

    class Meta:
        model = Export
        fields = [
            "id",
            "project",
            "format",
            "filters",
            "include_annotations",
            "incremental",
            "since",
            "status",
            "progress",
            "total",
            "rows",
            "size_bytes",
            "sha256",
            "download_url",
            "certificate_url",
            "expires_at",
            "message",
            "created_at",
            "started_at",
            "finished_at",
        ]

    def get_progress(self, export) -> float:
        if export.status in (JobStatus.SUCCEEDED, JobStatus.FAILED):
            return 1.0
        return round(min(1.0, export.rows / export.total), 4) if export.total else 0.0

    def _url(self, export, name: str) -> str | None:
        if export.status != JobStatus.SUCCEEDED:
            return None
        request = self.context.get("request")
        path = reverse(name, args=[export.pk])
        return request.build_absolute_uri(path) if request else path

    def get_download_url(self, export) -> str | None:
        return self._url(export, "api-export-download")

    def get_certificate_url(self, export) -> str | None:
        return self._url(export, "api-export-certificate")


class ExportInput(InputSerializer):
    format = serializers.ChoiceField(choices=ExportFormat.choices)
    status = serializers.ListField(
        child=serializers.ChoiceField(choices=ItemStatus.choices), required=False
    )
    dataset = IdField(required=False)
    min_confidence = serializers.FloatField(min_value=0.0, max_value=1.0, required=False)
    include_annotations = serializers.BooleanField(default=True)
    incremental = serializers.BooleanField(default=False)

    def get_fields(self):
        fields = super().get_fields()
        # `from` and `to` are Python keywords: declared here, not as attributes.
        fields["from"] = DateField(required=False, allow_null=True)
        fields["to"] = DateField(required=False, allow_null=True)
        return fields

    def to_internal_value(self, data):
        # `status` may be one status or a list (a form's repeated field is a list already).
        if type(data) is dict and isinstance(data.get("status"), str):
            data = {**data, "status": [data["status"]]}
        return super().to_internal_value(data)


class ProjectExportListCreateApi(ProjectApi):
    roles = {
        "GET": Allow(CLIENT_SIDE),
        "POST": Allow(CLIENT_MANAGERS, "Only operators and the client's admins start exports."),
    }

    def resolve(self, request, **kwargs) -> None:
        super().resolve(request, **kwargs)
        # The workforce never learns that an export exists: 404, not 403.
        if not selectors.user_may_read_exports(user=request.user):
            raise exceptions.NotFound()

    @extend_schema(responses=ExportOutput(many=True))
    def get(self, request, project_id):
        exports_ = selectors.export_list(project=self.project)[:100]
        return Response(ExportOutput(exports_, many=True, context={"request": request}).data)

    @extend_schema(request=ExportInput, responses={202: ExportOutput})
    def post(self, request, project_id):
        serializer = ExportInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        export = services.export_create(
            project=self.project,
            user=request.user,
            format=data["format"],
            statuses=data.get("status"),
            dataset=data.get("dataset"),
            min_confidence=data.get("min_confidence"),
            date_from=data.get("from"),
            date_to=data.get("to"),
            include_annotations=data["include_annotations"],
            incremental=data["incremental"],
        )
        export.refresh_from_db()  # without a broker it ran already
        return Response(
            ExportOutput(export, context={"request": request}).data,
            status=status.HTTP_202_ACCEPTED,
        )


class GoneError(exceptions.APIException):
    status_code = status.HTTP_410_GONE
    default_detail = "This download link has expired."
    default_code = "gone"


class ExportApi(TenantApi):
    """Base of the endpoints under exports/{export_id}/: only the client side sees them."""

    roles = {"GET": Allow(CLIENT_SIDE)}

    def resolve(self, request, **kwargs) -> None:
        self.export = selectors.access_export(user=request.user, export_id=kwargs["export_id"])


class ExportDetailApi(ExportApi):
    @extend_schema(responses=ExportOutput)
    def get(self, request, export_id):
        return Response(ExportOutput(self.export, context={"request": request}).data)


class ExportDownloadApi(ExportApi):
    def perform_content_negotiation(self, request, force=False):
        return super().perform_content_negotiation(request, force=True)

    @extend_schema(responses={(200, "application/octet-stream"): bytes, 410: None})
    def get(self, request, export_id):
        export = self.export
        try:
            handle = services.export_file_for_download(export=export)
        except services.Expired as exc:
            raise GoneError(str(exc)) from exc
        except ValidationError as exc:
            raise ConflictError(" ".join(exc.messages)) from exc
        name = export.file.name.rsplit("/", 1)[-1]
        response = FileResponse(handle, as_attachment=True, filename=name)
        response["X-Content-SHA256"] = export.sha256
        return response


class ExportCertificateApi(ExportApi):
    def perform_content_negotiation(self, request, force=False):
        return super().perform_content_negotiation(request, force=True)

    @extend_schema(responses={(200, "application/json"): bytes})
    def get(self, request, export_id):
        export = self.export
        if export.certificate is None:
            raise ConflictError(f"The export is {export.status}: no certificate yet.")
        response = HttpResponse(
            orjson.dumps(export.certificate, option=orjson.OPT_INDENT_2),
            content_type="application/json",
        )
        name = f"project-{export.project_id}-export-{export.pk}.certificate.json"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response
