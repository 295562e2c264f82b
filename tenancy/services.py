"""Writes: every change to organizations, people, projects and workforce goes through here.

Services validate, own their transaction, and raise django.core.exceptions.ValidationError
with a {field: [message]} dict, which the API turns into a 400 naming the field.
"""

from __future__ import annotations

import logging

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.text import slugify
from guardian.shortcuts import assign_perm, remove_perm

from core.roles import LABELERS

from .models import (
    AQL_VALUES,
    ROLES_BY_KIND,
    WORKFORCE_PERMISSION,
    ConsensusMethod,
    Membership,
    Organization,
    OrganizationKind,
    Project,
    ProjectAssignment,
    Role,
    TaskType,
    WorkforceRole,
)

logger = logging.getLogger(__name__)
User = get_user_model()

MAX_LABELS = 500
# The one answer for a username taken anywhere, by this organization's people or another
# tenant's: it never says whose, nor that the name belongs to someone.
USERNAME_UNAVAILABLE = "This username cannot be used; choose another."
MAX_LABEL_LENGTH = 100


def organization_create(*, name: str, kind: str = OrganizationKind.CLIENT) -> Organization:
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": ["This field may not be blank."]})
    if kind != OrganizationKind.CLIENT:
        raise ValidationError(
            {"kind": ["Only client organizations can be created; the vendor exists already."]}
        )
    if Organization.objects.filter(name__iexact=name).exists():
        raise ValidationError({"name": [f"An organization named {name!r} exists already."]})
    base = slugify(name)[:70] or "org"
    slug, n = base, 1
    while Organization.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    organization = Organization.objects.create(name=name, slug=slug, kind=kind)
    logger.info("organization_created", extra={"organization_id": organization.pk})
    return organization


@transaction.atomic
def member_create(
    *,
    organization: Organization,
    username: str,
    password: str,
    role: str,
    email: str = "",
) -> Membership:
    """A new user in the organization with the role; operators become Django staff."""
    errors: dict[str, list[str]] = {}
    allowed = ROLES_BY_KIND[OrganizationKind(organization.kind)]
    if role not in {r.value for r in allowed}:
        errors["role"] = [
            f"{role!r} is not a role of a {organization.kind} organization; "
            f"choose one of: {', '.join(sorted(r.value for r in allowed))}."
        ]
    # As create_user() will store it (NFKC: "ａｌｉｃｅ" is "alice"), so that the check sees it.
    username = User.normalize_username((username or "").strip())
    if not username:
        errors["username"] = ["This field may not be blank."]
    else:
        try:
            User._meta.get_field(User.USERNAME_FIELD).run_validators(username)
        except ValidationError as exc:
            errors["username"] = list(exc.messages)
        else:
            if User.objects.filter(username__iexact=username).exists():
                errors["username"] = [USERNAME_UNAVAILABLE]
    candidate = User(username=username, email=email or "")
    try:
        validate_password(password or "", user=candidate)
    except ValidationError as exc:
        errors["password"] = list(exc.messages)
    if errors:
        raise ValidationError(errors)
    is_operator = role == Role.OPERATOR
    try:
        with transaction.atomic():  # a savepoint: the same name created at the same moment
            user = User.objects.create_user(
                username=username,
                password=password,
                email=email or "",
                is_staff=is_operator,
                is_superuser=is_operator,
            )
    except IntegrityError as exc:
        raise ValidationError({"username": [USERNAME_UNAVAILABLE]}) from exc
    membership = Membership.objects.create(user=user, organization=organization, role=role)
    logger.info(
        "member_created",
        extra={"organization_id": organization.pk, "user_id": user.pk, "role": role},
    )
    return membership


def _clean_labels(labels, *, field: str = "labels") -> list[str]:
    if not isinstance(labels, list) or not labels:
        raise ValidationError({field: ["Give the label set as a non-empty list of strings."]})
    if len(labels) > MAX_LABELS:
        raise ValidationError({field: [f"At most {MAX_LABELS} labels."]})
    cleaned: list[str] = []
    for position, label in enumerate(labels):
        if not isinstance(label, str) or not label.strip():
            raise ValidationError({field: [f"Label #{position + 1} must be a non-blank string."]})
        label = label.strip()
        if len(label) > MAX_LABEL_LENGTH:
            raise ValidationError(
                {field: [f"Label #{position + 1} is longer than {MAX_LABEL_LENGTH} characters."]}
            )
        if label in cleaned:
            raise ValidationError({field: [f"The label {label!r} appears twice."]})
        cleaned.append(label)
    return cleaned


def _check_policy(project: Project) -> None:
    errors: dict[str, list[str]] = {}
    if project.task_type not in TaskType.values:
        errors["task_type"] = [f"Choose one of: {', '.join(TaskType.values)}."]
    if project.consensus not in ConsensusMethod.values:
        errors["consensus"] = [f"Choose one of: {', '.join(ConsensusMethod.values)}."]
    if project.aql not in AQL_VALUES:
        errors["aql"] = [
            f"Choose one of ISO 2859-1's AQL values: {', '.join(map(str, AQL_VALUES))}."
        ]
    if project.max_overlap < project.overlap:
        errors["max_overlap"] = [f"Must be at least the overlap ({project.overlap})."]
    try:
        project.full_clean(exclude=["organization", "created_by", "labels"], validate_unique=False)
    except ValidationError as exc:
        for field, messages in exc.message_dict.items():
            errors.setdefault(field, []).extend(messages)
    if (
        Project.objects.filter(organization_id=project.organization_id, name=project.name)
        .exclude(pk=project.pk)
        .exists()
    ):
        errors.setdefault("name", []).append(
            f"This organization has a project named {project.name!r} already."
        )
    if errors:
        raise ValidationError(errors)


def project_create(
    *,
    organization: Organization,
    name: str,
    labels: list[str],
    task_type: str = TaskType.CLASSIFICATION,
    instructions: str = "",
    overlap: int = 3,
    max_overlap: int | None = None,
    gold_rate: float = 0.0,
    consensus: str = ConsensusMethod.MAJORITY,
    min_agreement: float = 0.0,
    prelabels: bool = False,
    blind_share: float = 0.0,
    lease_minutes: int = 10,
    aql: float = 1.0,
    model_threshold: float = 0.9,
    audit_share: float = 0.1,
    created_by=None,
) -> Project:
    if organization.kind != OrganizationKind.CLIENT:
        raise ValidationError({"organization": ["Projects belong to client organizations."]})
    project = Project(
        organization=organization,
        name=(name or "").strip(),
        labels=_clean_labels(labels),
        task_type=task_type,
        instructions=instructions or "",
        overlap=overlap,
        max_overlap=max_overlap if max_overlap is not None else max(5, overlap),
        gold_rate=gold_rate,
        consensus=consensus,
        min_agreement=min_agreement,
        prelabels=prelabels,
        blind_share=blind_share,
        lease_minutes=lease_minutes,
        aql=aql,
        model_threshold=model_threshold,
        audit_share=audit_share,
        created_by=created_by,
    )
    _check_policy(project)
    try:
        with transaction.atomic():
            project.save()
    except IntegrityError as exc:  # a concurrent create with the same name
        raise ValidationError(
            {"name": [f"This organization has a project named {project.name!r} already."]}
        ) from exc
    logger.info(
        "project_created", extra={"organization_id": organization.pk, "project_id": project.pk}
    )
    return project


PROJECT_EDITABLE = (
    "name",
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
)


@transaction.atomic
def project_update(*, project: Project, **changes) -> Project:
    """Change name, instructions, label set or QA policy. Labels may be added, never removed,
    since annotations already made may use them; the task type is fixed at creation."""
    unknown = set(changes) - set(PROJECT_EDITABLE)
    if unknown:
        raise ValidationError({field: ["This field cannot be changed."] for field in unknown})
    project = Project.objects.select_for_update().get(pk=project.pk)
    if "labels" in changes:
        labels = _clean_labels(changes["labels"])
        removed = [label for label in project.labels if label not in labels]
        if removed:
            raise ValidationError(
                {"labels": [f"Labels cannot be removed (annotations may use them): {removed}."]}
            )
        changes["labels"] = labels
    if "name" in changes:
        changes["name"] = (changes["name"] or "").strip()
    for field, value in changes.items():
        setattr(project, field, value)
    _check_policy(project)
    project.save()
    return project


@transaction.atomic
def workforce_assign(
    *, project: Project, user, role: str, assigned_by=None
) -> tuple[ProjectAssignment, bool]:
    """Assign a vendor annotator or QA lead to a client project. Returns (assignment, created);
    assigning the same person the same role twice changes nothing."""
    if role not in WorkforceRole.values:
        raise ValidationError({"role": [f"Choose one of: {', '.join(WorkforceRole.values)}."]})
    membership = Membership.objects.filter(user=user).select_related("organization").first()
    if membership is None or membership.organization.kind != OrganizationKind.VENDOR:
        raise ValidationError({"user": ["Only people of the vendor's workforce can be assigned."]})
    allowed = LABELERS if role == WorkforceRole.ANNOTATOR else {Role.QA_LEAD}
    if membership.role not in allowed:
        raise ValidationError(
            {"user": [f"{user.username} is a {membership.role}; only a {role} can take this role."]}
        )
    assignment, created = ProjectAssignment.objects.get_or_create(
        project=project,
        user=user,
        role=role,
        defaults={"organization_id": project.organization_id, "assigned_by": assigned_by},
    )
    assign_perm(f"tenancy.{WORKFORCE_PERMISSION[WorkforceRole(role)]}", user, project)
    if created:
        logger.info(
            "workforce_assigned",
            extra={"project_id": project.pk, "user_id": user.pk, "role": role},
        )
    return assignment, created


@transaction.atomic
def workforce_unassign(*, assignment: ProjectAssignment) -> None:
    remove_perm(
        f"tenancy.{WORKFORCE_PERMISSION[WorkforceRole(assignment.role)]}",
        assignment.user,
        assignment.project,
    )
    assignment.delete()
