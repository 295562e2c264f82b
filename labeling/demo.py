"""Demo datasets: synthetic product reviews and support tickets, generated (no download)."""

import random

from .services import dataset_create_with_items

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


def review_rows(count: int, rng: random.Random):
    for n in range(count):
        sentiment, phrases = rng.choice(
            [("positive", POSITIVE), ("negative", NEGATIVE), ("neutral", NEUTRAL)]
        )
        text = f"The {rng.choice(PRODUCTS)} {rng.choice(phrases)}."
        gold = sentiment if n % 20 == 0 else None  # every 20th item is a gold (honeypot) item
        yield {
            "id": f"review-{n + 1:04d}",
            "data": {"text": text, "stars": rng.randint(1, 5)},
            "gold": gold,
        }


def ticket_rows(count: int, rng: random.Random):
    for n in range(count):
        queue = rng.choice(list(TICKETS))
        yield {"id": f"ticket-{n + 1:04d}", "data": {"text": rng.choice(TICKETS[queue])}}


def seed(context: dict) -> None:
    rng = random.Random(2026)
    projects = context["projects"]
    dataset_create_with_items(
        project=projects["reviews"], name="reviews-2026-11", rows=review_rows(300, rng)
    )
    dataset_create_with_items(
        project=projects["tickets"], name="tickets-week-48", rows=ticket_rows(120, rng)
    )
