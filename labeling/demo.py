"""Demo datasets: synthetic product reviews and support tickets, generated (no download),
loaded through the same import path as a client's upload."""

import random

import orjson
from django.core.files.uploadedfile import SimpleUploadedFile

from tenancy.services import project_create, workforce_assign

from . import ml_services, queue
from .imports.services import import_job_create, import_job_run

PRODUCTS = [
    "blender",
    "headphones",
    "desk lamp",
    "backpack",
    "coffee grinder",
    "keyboard",
    "air fryer",
    "running shoes",
    "phone case",
    "office chair",
]
POSITIVE = [
    "works perfectly",
    "exceeded my expectations",
    "great value for the money",
    "arrived early and well packed",
    "I use it every day and love it",
]
NEGATIVE = [
    "broke after two days",
    "is not as described",
    "stopped working, I want a refund",
    "arrived damaged",
    "is much louder than advertised",
]
NEUTRAL = [
    "is okay, nothing special",
    "does what it says",
    "arrived on the expected date",
    "is fine but the color differs a bit",
    "has pros and cons",
]
TICKETS = {
    "billing": ["I was charged twice for my last visit", "Why is my invoice higher this month?"],
    "technical": ["The portal shows a blank page after login", "The app crashes when I upload"],
    "account": ["Please change the email on my account", "I cannot reset my password"],
    "other": ["Do you have parking at the clinic?", "Thank you for the quick help last week"],
}


# What each generated review really says, for the simulated workforce below.
TRUTH: dict[str, str] = {}
# How often each simulated annotator picks the true label (the rest: a random one).
ACCURACY = {"annotator": 0.92, "annotator2": 0.85, "annotator3": 0.7}


def review_rows(count: int, rng: random.Random):
    for n in range(count):
        sentiment, phrases = rng.choice(
            [("positive", POSITIVE), ("negative", NEGATIVE), ("neutral", NEUTRAL)]
        )
        text = f"The {rng.choice(PRODUCTS)} {rng.choice(phrases)}."
        row = {"id": f"review-{n + 1:04d}", "data": {"text": text, "stars": rng.randint(1, 5)}}
        TRUTH[row["id"]] = sentiment
        if n % 20 == 0:
            row["gold"] = sentiment  # every 20th item is a gold (honeypot) item
        if n >= count - 30:
            # Labels another vendor made before the client moved here, audited like any other.
            second = sentiment if rng.random() < 0.7 else "neutral"
            row["annotations"] = [
                {"annotator": "legacy-vendor/alice", "label": sentiment},
                {"annotator": "legacy-vendor/bob", "label": second},
            ]
        yield row


def ticket_rows(count: int, rng: random.Random):
    for n in range(count):
        queue = rng.choice(list(TICKETS))
        yield {"id": f"ticket-{n + 1:04d}", "data": {"text": rng.choice(TICKETS[queue])}}


def _upload(name: str, rows) -> SimpleUploadedFile:
    body = b"".join(orjson.dumps(row) + b"\n" for row in rows)
    return SimpleUploadedFile(name, body, content_type="application/x-ndjson")


def seed(context: dict) -> None:
    rng = random.Random(2026)
    projects, users = context["projects"], context["users"]
    for project, name, rows in [
        (projects["reviews"], "reviews-2026-11.jsonl", review_rows(300, rng)),
        (projects["tickets"], "tickets-week-48.jsonl", ticket_rows(120, rng)),
    ]:
        admin = users["northwind.admin" if project == projects["reviews"] else "globex.admin"]
        job = import_job_create(project=project, upload=_upload(name, rows), created_by=admin)
        # The demo seeds inside one transaction, where the queued task would wait for the
        # commit: run the job here (the task finds it done and leaves it).
        job = import_job_run(job_id=job.pk)
        context["stdout"].write(f"  {project.name}: {job.message}")
    simulate_workforce(projects["reviews"], users, rng, context["stdout"])
    seed_digits(context)


# The digits project: scikit-learn's bundled 8x8 handwritten digits (no download), a few of
# them labeled on import, a model trained on those, and the rest pre-labeled by it.
DIGITS_ITEMS = 500
DIGITS_LABELED = 100


def digit_rows(count: int, labeled: int):
    from sklearn.datasets import load_digits

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


def seed_digits(context: dict) -> None:
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
    upload = _upload("digits.jsonl", digit_rows(DIGITS_ITEMS, DIGITS_LABELED))
    job = import_job_create(project=project, upload=upload, created_by=admin)
    job = import_job_run(job_id=job.pk)
    stdout.write(f"  {project.name}: {job.message}")
    # Inside the demo's transaction the queued task would wait for the commit: train here.
    version = ml_services.model_train(project=project, user=admin)
    version = ml_services.model_version_run(version_id=version.pk)
    counts = ml_services.model_predict(project=project)
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


def simulate_workforce(project, users, rng: random.Random, stdout, tasks_each: int = 80) -> None:
    """Three annotators of different care work through the queue, as they would in the UI."""
    labels = project.labels
    labeled = 0
    for username, accuracy in ACCURACY.items():
        user = users[username]
        for _ in range(tasks_each):
            lease = queue.lease_next(project=project, user=user)
            if lease is None:
                break
            truth = TRUTH.get(lease.item.external_id, rng.choice(labels))
            label = truth if rng.random() < accuracy else rng.choice(labels)
            duration_ms = rng.randint(2_000, 9_000)
            queue.annotation_submit(
                item=lease.item, user=user, label=label, duration_ms=duration_ms
            )
            labeled += 1
    done = project.items.filter(status="complete").count()
    stdout.write(
        f"  {project.name}: {len(ACCURACY)} annotators labeled {labeled} tasks; {done} complete"
    )
