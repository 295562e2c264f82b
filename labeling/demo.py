"""Demo datasets: synthetic product reviews and support tickets, generated (no download),
loaded through the same import path as a client's upload."""

import random

import orjson
from django.core.files.uploadedfile import SimpleUploadedFile

from . import queue
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


def jsonl_upload(name: str, rows) -> SimpleUploadedFile:
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
        job = import_job_create(project=project, upload=jsonl_upload(name, rows), created_by=admin)
        # The demo seeds inside one transaction, where the queued task would wait for the
        # commit: run the job here (the task finds it done and leaves it).
        job = import_job_run(job_id=job.pk)
        context["stdout"].write(f"  {project.name}: {job.message}")
    simulate_workforce(projects["reviews"], users, rng, context["stdout"])


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
