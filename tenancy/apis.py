"""The tenancy part of the public API (see ../shared/API.md): auth, organizations, members,
projects and workforce. Views parse, call one service or selector, and render."""

from __future__ import annotations

from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import exceptions, serializers, status
from rest_framework.authtoken.models import Token
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.response import Response
from rest_framework.settings import api_settings

from core.api import Allow, RoleMapApi
from core.inputs import IdField, InputSerializer, IntegerField
from core.limits import LimitExceeded
from core.params import Params
from core.roles import ANY, CLIENT_MANAGERS, OPERATORS

from . import selectors, services
from .logins import login_authenticate
from .models import (
    AuditEvent,
    ConsensusMethod,
    Organization,
    OrganizationKind,
    Project,
    Role,
    TaskType,
    WorkforceRole,
)


class TenantApi(RoleMapApi):
    """Base of every authenticated endpoint: the caller's role is their membership's (a
    superuser is an operator), reads go through scoped selectors, and `deny()` is the single
    way to say 403."""

    def caller_role(self, request) -> str | None:
        return selectors.user_role(request.user)


class ProjectApi(TenantApi):
    """Base of every endpoint under projects/{project_id}/: the project is resolved once,
    through the caller's scope, before the handler runs (404 when it is not theirs)."""

    project: Project

    def resolve(self, request, **kwargs) -> None:
        self.project = selectors.access_project(user=request.user, project_id=kwargs["project_id"])


class OrganizationApi(TenantApi):
    organization: Organization

    def resolve(self, request, **kwargs) -> None:
        self.organization = selectors.access_organization(
            user=request.user, organization_id=kwargs["organization_id"]
        )


# --- serializers (output) -----------------------------------------------------------------


class OrganizationOutput(serializers.ModelSerializer):
    class Meta:
        model = Organization
        fields = ["id", "name", "slug", "kind", "created_at"]


class MemberOutput(serializers.Serializer):
    id = serializers.IntegerField(source="user.id")
    username = serializers.CharField(source="user.username")
    email = serializers.CharField(source="user.email")
    role = serializers.CharField()
    organization = serializers.IntegerField(source="organization_id")


class ProjectOutput(serializers.ModelSerializer):
    items = serializers.SerializerMethodField()
    completed = serializers.SerializerMethodField()
    in_review = serializers.SerializerMethodField()

    class Meta:
        model = Project
        fields = [
            "id",
            "organization",
            "name",
            "task_type",
            "labels",
            "instructions",
            "overlap",
            "max_overlap",
            "gold_rate",
            "consensus",
            "min_agreement",
            "prelabels",
            "blind_share",
            "lease_minutes",
            "aql",
            "model_threshold",
            "audit_share",
            "created_at",
            "updated_at",
            "items",
            "completed",
            "in_review",
        ]

    def _count(self, project: Project, key: str) -> int:
        counts = self.context.get("counts") or selectors.project_counts(project_ids=[project.pk])
        return counts[project.pk][key]

    def get_items(self, project) -> int:
        return self._count(project, "items")

    def get_completed(self, project) -> int:
        return self._count(project, "completed")

    def get_in_review(self, project) -> int:
        return self._count(project, "in_review")


def project_payload(projects: list[Project]) -> list[dict]:
    counts = selectors.project_counts(project_ids=[p.pk for p in projects])
    return ProjectOutput(projects, many=True, context={"counts": counts}).data


class AssignmentOutput(serializers.Serializer):
    id = serializers.IntegerField()
    project = serializers.IntegerField(source="project_id")
    user = serializers.IntegerField(source="user_id")
    username = serializers.CharField(source="user.username")
    role = serializers.CharField()
    created_at = serializers.DateTimeField()


# --- auth ---------------------------------------------------------------------------------


class TokenInput(InputSerializer):
    """{username, password}, and nothing else."""

    username = serializers.CharField()
    password = serializers.CharField(trim_whitespace=False)


class AuthTokenApi(ObtainAuthToken):
    """POST {username, password} -> {token}; 429 with Retry-After while failed logins lock the
    account or the address (tenancy.logins), the right password included."""

    parser_classes = api_settings.DEFAULT_PARSER_CLASSES  # DRF's view names its own

    @extend_schema(
        request=TokenInput,
        responses={200: inline_serializer("TokenOutput", {"token": serializers.CharField()})},
    )
    def post(self, request, *args, **kwargs):
        data = _valid(TokenInput, request)
        result = login_authenticate(
            request=request, username=data["username"], password=data["password"]
        )
        if result.lockout is not None:
            lockout = result.lockout
            raise LimitExceeded(
                limit=lockout.limit, detail=lockout.message, retry_after=lockout.retry_after
            )
        if result.user is None:
            raise exceptions.ValidationError(
                {"non_field_errors": ["Unable to log in with provided credentials."]}
            )
        token, _ = Token.objects.get_or_create(user=result.user)
        return Response({"token": token.key})


class MeApi(TenantApi):
    roles = {"GET": Allow(ANY)}

    @extend_schema(
        responses=inline_serializer(
            "Me",
            {
                "id": serializers.IntegerField(),
                "username": serializers.CharField(),
                "role": serializers.CharField(allow_null=True),
                "organization": OrganizationOutput(allow_null=True),
            },
        )
    )
    def get(self, request):
        membership = selectors.user_membership(request.user)
        organization = membership.organization if membership else None
        if organization is None and selectors.user_is_operator(request.user):
            organization = selectors.vendor_organization()
        return Response(
            {
                "id": request.user.pk,
                "username": request.user.get_username(),
                "role": selectors.user_role(request.user),
                "organization": OrganizationOutput(organization).data if organization else None,
            }
        )


# --- organizations ------------------------------------------------------------------------


class OrganizationInput(InputSerializer):
    name = serializers.CharField(max_length=200)
    kind = serializers.ChoiceField(choices=[OrganizationKind.CLIENT.value])


class MemberInput(InputSerializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(write_only=True, trim_whitespace=False)
    email = serializers.EmailField(required=False, allow_blank=True)
    role = serializers.ChoiceField(choices=Role.choices)


class OrganizationListCreateApi(TenantApi):
    roles = {"GET": Allow(ANY), "POST": Allow(OPERATORS, "Only operators create organizations.")}

    @extend_schema(responses=OrganizationOutput(many=True))
    def get(self, request):
        organizations = selectors.organization_list_for(user=request.user)
        return Response(OrganizationOutput(organizations, many=True).data)

    @extend_schema(request=OrganizationInput, responses={201: OrganizationOutput})
    def post(self, request):
        data = _valid(OrganizationInput, request)
        organization = services.organization_create(name=data["name"], kind=data["kind"])
        return Response(OrganizationOutput(organization).data, status=status.HTTP_201_CREATED)


class OrganizationDetailApi(OrganizationApi):
    roles = {"GET": Allow(ANY)}

    @extend_schema(responses=OrganizationOutput)
    def get(self, request, organization_id):
        return Response(OrganizationOutput(self.organization).data)


_MEMBERS_DENIED = "Only operators and this organization's admins manage its members."


class OrganizationMemberListCreateApi(OrganizationApi):
    roles = {
        "GET": Allow(CLIENT_MANAGERS, _MEMBERS_DENIED),
        "POST": Allow(CLIENT_MANAGERS, _MEMBERS_DENIED),
    }

    def _check_may_manage(self, request):
        if not selectors.user_may_manage_organization(
            user=request.user, organization=self.organization
        ):
            self.deny(_MEMBERS_DENIED)

    @extend_schema(responses=MemberOutput(many=True))
    def get(self, request, organization_id):
        self._check_may_manage(request)
        return Response(
            MemberOutput(selectors.member_list(organization=self.organization), many=True).data
        )

    @extend_schema(request=MemberInput, responses={201: MemberOutput})
    def post(self, request, organization_id):
        self._check_may_manage(request)
        data = _valid(MemberInput, request)
        if data["role"] == Role.OPERATOR and not selectors.user_is_operator(request.user):
            self.deny("Only operators create operators.")
        membership = services.member_create(organization=self.organization, **data)
        return Response(MemberOutput(membership).data, status=status.HTTP_201_CREATED)


# --- projects -----------------------------------------------------------------------------


class ProjectInput(InputSerializer):
    name = serializers.CharField(max_length=200)
    task_type = serializers.ChoiceField(choices=TaskType.choices, default=TaskType.CLASSIFICATION)
    labels = serializers.ListField(child=serializers.CharField(max_length=100), allow_empty=False)
    instructions = serializers.CharField(required=False, allow_blank=True, default="")
    overlap = IntegerField(min_value=1, max_value=25, default=3)
    max_overlap = IntegerField(min_value=1, max_value=25, required=False)
    gold_rate = serializers.FloatField(min_value=0.0, max_value=1.0, default=0.0)
    consensus = serializers.ChoiceField(
        choices=ConsensusMethod.choices, default=ConsensusMethod.MAJORITY
    )
    min_agreement = serializers.FloatField(min_value=0.0, max_value=1.0, default=0.0)
    prelabels = serializers.BooleanField(default=False)
    blind_share = serializers.FloatField(min_value=0.0, max_value=1.0, default=0.0)
    lease_minutes = IntegerField(min_value=1, max_value=240, default=10)
    aql = serializers.FloatField(default=1.0, help_text="Audits' AQL (ISO 2859-1 value).")
    model_threshold = serializers.FloatField(
        min_value=0.0,
        max_value=1.0,
        default=0.9,
        help_text="A pre-label at or above this confidence needs one person to confirm it.",
    )
    audit_share = serializers.FloatField(
        min_value=0.0,
        max_value=1.0,
        default=0.1,
        help_text="Share of the confident pre-labels that still get the full overlap.",
    )


class ProjectCreateInput(ProjectInput):
    organization = IdField()


class ProjectUpdateInput(ProjectInput):
    """A partial update: every field optional, none defaulted."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, partial=True, **kwargs)


class WorkforceInput(InputSerializer):
    user = IdField()
    role = serializers.ChoiceField(choices=WorkforceRole.choices)


class ProjectListCreateApi(TenantApi):
    roles = {"GET": Allow(ANY), "POST": Allow(ANY)}  # who may create where: the organization's

    @extend_schema(responses=ProjectOutput(many=True))
    def get(self, request):
        projects = selectors.project_list_for(user=request.user).order_by("organization_id", "name")
        params = Params(request.query_params)
        organization = params.id("organization")
        params.check()
        if organization is not None:
            projects = projects.filter(organization_id=organization)
        return Response(project_payload(list(projects)))

    @extend_schema(request=ProjectCreateInput, responses={201: ProjectOutput})
    def post(self, request):
        data = _valid(ProjectCreateInput, request)
        organization = (
            selectors.organization_list_for(user=request.user)
            .filter(pk=data.pop("organization"))
            .first()
        )
        if organization is None:
            raise exceptions.ValidationError({"organization": ["No such organization."]})
        if not selectors.user_may_create_project_in(user=request.user, organization=organization):
            self.deny("Only operators and the client's admins create its projects.")
        project = services.project_create(
            organization=organization, created_by=request.user, **data
        )
        return Response(project_payload([project])[0], status=status.HTTP_201_CREATED)


class ProjectDetailApi(ProjectApi):
    roles = {
        "GET": Allow(ANY),
        "PATCH": Allow(CLIENT_MANAGERS, "Only operators and the client's admins change a project."),
    }

    @extend_schema(responses=ProjectOutput)
    def get(self, request, project_id):
        return Response(project_payload([self.project])[0])

    @extend_schema(request=ProjectUpdateInput, responses=ProjectOutput)
    def patch(self, request, project_id):
        if not selectors.user_may_change_project(user=request.user, project=self.project):
            self.deny("Only operators and the client's admins change a project.")
        data = _valid(ProjectUpdateInput, request)
        if "task_type" in data and data["task_type"] != self.project.task_type:
            raise exceptions.ValidationError(
                {"task_type": ["The task type is fixed once a project exists."]}
            )
        data.pop("task_type", None)
        project = services.project_update(project=self.project, **data)
        return Response(project_payload([project])[0])


_WORKFORCE_DENIED = "Only operators assign the workforce."


class ProjectWorkforceApi(ProjectApi):
    roles = {
        "GET": Allow(ANY - {Role.ANNOTATOR}, "Annotators do not see the project's workforce."),
        "POST": Allow(OPERATORS, _WORKFORCE_DENIED),
    }

    @extend_schema(responses=AssignmentOutput(many=True))
    def get(self, request, project_id):
        workforce = selectors.project_workforce(project=self.project)
        return Response(AssignmentOutput(workforce, many=True).data)

    @extend_schema(request=WorkforceInput, responses={201: AssignmentOutput, 200: AssignmentOutput})
    def post(self, request, project_id):
        data = _valid(WorkforceInput, request)
        user = selectors.workforce_user(user_id=data["user"])
        if user is None:
            raise exceptions.ValidationError(
                {"user": ["No such person in the vendor's workforce."]}
            )
        assignment, created = services.workforce_assign(
            project=self.project, user=user, role=data["role"], assigned_by=request.user
        )
        return Response(
            AssignmentOutput(assignment).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


class ProjectWorkforceDetailApi(ProjectApi):
    roles = {"DELETE": Allow(OPERATORS, _WORKFORCE_DENIED)}

    def resolve(self, request, **kwargs) -> None:
        super().resolve(request, **kwargs)
        self.assignment = selectors.access_assignment(
            project=self.project, assignment_id=kwargs["assignment_id"]
        )

    @extend_schema(responses={204: None})
    def delete(self, request, project_id, assignment_id):
        services.workforce_unassign(assignment=self.assignment)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- the audit log (operators) ------------------------------------------------------------


class AuditEventOutput(serializers.ModelSerializer):
    class Meta:
        model = AuditEvent
        fields = [
            "id",
            "created_at",
            "event",
            "verdict",
            "actor_id",
            "actor_name",
            "organization_id",
            "address",
            "method",
            "route",
            "path",
            "target_type",
            "target_id",
            "target_organization_id",
            "detail",
        ]


AUDIT_PAGE_DEFAULT = 100


class AuditEventListApi(TenantApi):
    """The security audit log, newest first, for operators; anyone else gets 404."""

    roles = {"GET": Allow(ANY)}  # operators only: the others are told it does not exist

    def resolve(self, request, **kwargs) -> None:
        if not selectors.user_is_operator(request.user):
            raise Http404("No such page.")

    @extend_schema(
        parameters=[
            OpenApiParameter(name, str)
            for name in ("event", "verdict", "organization", "actor", "from", "to", "cursor")
        ]
        + [OpenApiParameter("limit", int)],
        responses=inline_serializer(
            "AuditEventPage",
            {
                "results": AuditEventOutput(many=True),
                "next": serializers.CharField(allow_null=True),
            },
        ),
    )
    def get(self, request):
        params = request.query_params
        filters = selectors.audit_filters(params)
        limit = filters.pop("limit", AUDIT_PAGE_DEFAULT)
        events = list(selectors.audit_event_list(**filters)[: limit + 1])
        following = None
        if len(events) > limit:
            events = events[:limit]
            query = params.copy()
            query["cursor"] = str(events[-1].pk)
            following = request.build_absolute_uri(f"{request.path}?{query.urlencode()}")
        return Response({"results": AuditEventOutput(events, many=True).data, "next": following})


def _valid(serializer_class, request) -> dict:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)
