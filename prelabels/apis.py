"""The model part of the public API (../shared/API.md, "Models"): train a version, list the
versions, pre-label the open items with the current one."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, extend_schema_field, inline_serializer
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response

from core.api import Allow
from core.inputs import no_body
from core.roles import CLIENT_MANAGERS, PROJECT_READERS
from tenancy.apis import ProjectApi
from tenancy.selectors import user_may_change_project

from . import selectors, services

METRIC_NAMES = ("accuracy", "macro_f1", "ece", "coverage")


class ModelMetricsOutput(serializers.Serializer):
    accuracy = serializers.FloatField(allow_null=True)
    macro_f1 = serializers.FloatField(allow_null=True)
    ece = serializers.FloatField(allow_null=True)
    coverage = serializers.JSONField(allow_null=True)


class ModelVersionOutput(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    status = serializers.CharField()
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)
    is_current = serializers.BooleanField()
    n_labels_used = serializers.IntegerField()
    message = serializers.CharField()
    metrics = serializers.SerializerMethodField()

    @extend_schema_field(ModelMetricsOutput)
    def get_metrics(self, version) -> dict:
        return {name: (version.metrics or {}).get(name) for name in METRIC_NAMES}


class ModelTrainOutput(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.CharField()


_RUN = Allow(CLIENT_MANAGERS, "Only operators and the client's admins train and run models.")


def _require_changer(api: ProjectApi, request) -> None:
    if not user_may_change_project(user=request.user, project=api.project):
        api.deny(_RUN.message)


class ProjectModelListApi(ProjectApi):
    roles = {
        "GET": Allow(
            PROJECT_READERS, "Models are read by the client's people, operators and QA leads."
        )
    }

    @extend_schema(responses=ModelVersionOutput(many=True))
    def get(self, request, project_id):
        versions = selectors.model_version_list(project=self.project)[:100]
        return Response(ModelVersionOutput(versions, many=True).data)


class ProjectModelTrainApi(ProjectApi):
    roles = {"POST": _RUN}

    @extend_schema(request=None, responses={202: ModelTrainOutput})
    def post(self, request, project_id):
        _require_changer(self, request)
        no_body(request)
        try:
            version = services.model_train(project=self.project, user=request.user)
        except services.ModelTrainError as error:
            raise exceptions.ValidationError({"detail": str(error)}) from error
        version.refresh_from_db()  # without a broker it trained already
        return Response(ModelTrainOutput(version).data, status=status.HTTP_202_ACCEPTED)


class ProjectModelPredictApi(ProjectApi):
    roles = {"POST": _RUN}

    @extend_schema(
        request=None,
        responses={
            202: inline_serializer("ModelPredictOutput", {"status": serializers.CharField()})
        },
    )
    def post(self, request, project_id):
        _require_changer(self, request)
        no_body(request)
        try:
            services.model_predict_queue(project=self.project)
        except services.ModelTrainError as error:
            raise exceptions.ValidationError({"detail": str(error)}) from error
        return Response({"status": "queued"}, status=status.HTTP_202_ACCEPTED)
