"""Demo quality assurance: Dawid-Skene fitted over the simulated workforce's labels, consensus
decided, a few reviews decided by the QA lead, an audit of the completed lot, and the agreement
report computed (so its page opens at once). The export of the result is exports' part."""

from datetime import timedelta

from django.utils import timezone

from labeling.models import Annotation, Item, ItemStatus
from tenancy.models import Project

from . import reports, services
from .data import Filters
from .models import ReviewStatus, ReviewTask

DEMO_DAYS = 14


def seed(context: dict) -> None:
    project: Project = context["projects"]["reviews"]
    users, stdout = context["users"], context["stdout"]
    lead = users["qa.lead"]
    model = services.truth_model_fit(project=project)
    completed = list(
        Item.objects.filter(project=project, status=ItemStatus.COMPLETE).values_list(
            "pk", flat=True
        )
    )
    # The signal's tasks wait for the demo's transaction; decide now (they find it done).
    outcome = services.consensus_items(project_id=project.pk, item_ids=completed)
    stdout.write(
        f"  {project.name}: Dawid-Skene over {model.items_used} items "
        f"({model.iterations} iterations); consensus: {outcome}"
    )
    # The QA lead works through part of the queue: accept the first, relabel the second.
    open_reviews = list(ReviewTask.objects.filter(project=project, status=ReviewStatus.OPEN)[:2])
    for n, review in enumerate(open_reviews):
        if n == 0 and review.proposed_label is not None:
            services.review_decide(review=review, user=lead, decision="accept")
        else:
            other = next(label for label in project.labels if label != review.proposed_label)
            services.review_decide(review=review, user=lead, decision="relabel", label=other)
    audit = services.audit_create(project=project, user=lead, seed=2026)
    samples = list(ReviewTask.objects.filter(audit=audit, status=ReviewStatus.OPEN)[:5])
    for review in samples:
        services.review_decide(review=review, user=lead, decision="accept")
    audit.refresh_from_db()
    stdout.write(
        f"  {project.name}: audit of {audit.lot_size} items, code {audit.code_letter}, "
        f"{audit.sample_size} sampled, {audit.inspected} inspected so far"
    )
    _spread_over_two_weeks(project)
    report = reports.report_refresh(project=project, filters=Filters()).result
    alpha = report["krippendorff_alpha"]
    stdout.write(
        f"  {project.name}: agreement report: alpha {alpha}, "
        f"{report['annotators']} annotators, {report['annotations']} annotations"
    )


def _spread_over_two_weeks(project: Project) -> None:
    """The simulated workforce labeled everything just now; date its work over the past two
    weeks (in the order it was done) so that the report's agreement-over-time chart has days."""
    annotations = list(
        Annotation.objects.filter(project=project).exclude(source="review").order_by("id")
    )
    now = timezone.now()
    for n, annotation in enumerate(annotations):
        days_ago = DEMO_DAYS - 1 - (n * DEMO_DAYS) // len(annotations)
        annotation.created_at = now - timedelta(days=days_ago, minutes=len(annotations) - n)
    Annotation.objects.bulk_update(annotations, ["created_at"], batch_size=500)
