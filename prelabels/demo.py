"""Demo pre-labels: the digits project, scikit-learn's bundled 8x8 handwritten digits (no
download), a few of them labeled on import, a model trained on those, the rest pre-labeled by
it, and an annotator who leans on the pre-labels."""

import random

from sklearn.datasets import load_digits

from labeling import queue
from labeling.demo import jsonl_upload
from labeling.imports.services import import_job_create, import_job_run
from tenancy.services import project_create, workforce_assign

from . import services

DIGITS_ITEMS = 500
DIGITS_LABELED = 100
# What each digit really is, for the simulated annotator below.
TRUTH: dict[str, str] = {}


def digit_rows(count: int, labeled: int):
    digits = load_digits()
    for n in range(count):
        row = {
            "id": f"digit-{n + 1:04d}",
            "data": {"pixels": digits.images[n].astype(int).tolist()},
        }
        TRUTH[row["id"]] = str(int(digits.target[n]))
        if n < labeled:
            row["label"] = TRUTH[row["id"]]  # labeled before, by the client
        yield row


def seed(context: dict) -> None:
    users, stdout = context["users"], context["stdout"]
    admin = users["northwind.admin"]
    project = project_create(
        organization=admin.membership.organization,
        name="Handwritten digits",
        labels=[str(digit) for digit in range(10)],
        instructions="Which digit (0-9) is written in the 8x8 image?",
        overlap=2,
        prelabels=True,
        blind_share=0.2,
        created_by=admin,
    )
    workforce_assign(project=project, user=users["annotator"], role="annotator")
    workforce_assign(project=project, user=users["qa.lead"], role="qa_lead")
    context["projects"]["digits"] = project
    upload = jsonl_upload("digits.jsonl", digit_rows(DIGITS_ITEMS, DIGITS_LABELED))
    job = import_job_create(project=project, upload=upload, created_by=admin)
    job = import_job_run(job_id=job.pk)
    stdout.write(f"  {project.name}: {job.message}")
    # Inside the demo's transaction the queued task would wait for the commit: train here.
    version = services.model_train(project=project, user=admin)
    version = services.model_version_run(version_id=version.pk)
    counts = services.model_predict(project=project)
    stdout.write(
        f"  {project.name}: model v{version.pk} ({version.kind}, {version.status}, "
        f"accuracy {version.metrics.get('accuracy')}) pre-labeled {counts['items']} open items, "
        f"{counts['confident']} of them confident"
    )
    simulate_anchoring(project, users["annotator"], random.Random(7), stdout)


def simulate_anchoring(project, user, rng: random.Random, stdout, tasks: int = 40) -> None:
    """An annotator who leans on the pre-label when it is shown (the quality page's anchoring
    block then has both sides: the project serves a blind share without pre-labels)."""
    for _ in range(tasks):
        lease = queue.lease_next(project=project, user=user)
        if lease is None:
            break
        item = lease.item
        truth = TRUTH.get(item.external_id, rng.choice(project.labels))
        if not lease.blind and item.prelabel is not None and rng.random() < 0.5:
            label = item.prelabel  # taken as shown
        else:
            label = truth if rng.random() < 0.9 else rng.choice(project.labels)
        queue.annotation_submit(
            item=item, user=user, label=label, duration_ms=rng.randint(1_500, 6_000)
        )
    stdout.write(f"  {project.name}: {user.username} labeled {tasks} pre-labeled tasks")
