"""Seeded synthetic product reviews with sentiment labels, for tests, benchmarks and the demo.

Nothing is downloaded. Each review mixes a product, an opening, two to four sentiment phrases
and filler sentences; the sentiment words of one class co-occur in a review, and their
frequencies follow a Zipf law, so a model trained on few labels meets many words it has never
seen labeled (which is what self-supervised pre-training on unlabeled reviews can help with).
Noise: a distractor phrase from another class in some reviews, negated phrases ("not great"),
and a share of labels flipped at random (`label_noise`), as annotators would.
"""

import random
from collections.abc import Sequence

LABEL_NAMES = ["positive", "negative", "neutral"]

PRODUCTS = (
    "blender headphones lamp backpack grinder keyboard fryer shoes case chair kettle mouse "
    "monitor speaker charger router camera tripod vacuum toaster mattress pillow jacket watch "
    "drill blanket scale thermos heater fan"
).split()
PEOPLE = "wife husband son daughter mother father office kitchen kids team brother".split()
ASPECTS = (
    "quality price battery screen sound build design size color delivery packaging support "
    "material finish setup manual fit weight noise cable"
).split()
ADVERBS = "really very quite truly super fairly pretty so rather".split()
POSITIVE_WORDS = (
    "great excellent amazing perfect fantastic wonderful superb solid reliable sturdy "
    "comfortable brilliant outstanding impressive lovely flawless awesome terrific smooth "
    "durable elegant handy gorgeous pleasant fabulous stellar top-notch premium delightful "
    "remarkable exceptional sleek responsive crisp quiet efficient convenient intuitive "
    "beautiful phenomenal marvelous dependable robust"
).split()
NEGATIVE_WORDS = (
    "terrible awful broken cheap flimsy useless horrible poor defective disappointing "
    "noisy faulty bad worst shoddy fragile dreadful annoying unreliable overpriced "
    "damaged leaky wobbly sluggish clunky unusable scratched dented misleading laggy "
    "frustrating pathetic inferior mediocre junk subpar rattling overheating crooked "
    "abysmal"
).split()
NEUTRAL_WORDS = (
    "okay average standard decent acceptable fine ordinary typical adequate normal "
    "basic plain regular moderate passable fair middling unremarkable reasonable so-so "
    "usual common modest expected conventional"
).split()
CLASS_WORDS = [POSITIVE_WORDS, NEGATIVE_WORDS, NEUTRAL_WORDS]
# Negating a positive word reads negative; negating a negative word reads neutral-ish.
NEGATED_CLASS = [1, 2, 2]

OPENINGS = [
    "I bought this {product} for my {person}",
    "ordered the {product} last month",
    "got this {product} as a gift for my {person}",
    "we have used the {product} for a few weeks now",
    "this is my second {product} from this brand",
    "picked up the {product} on sale",
]
FILLERS = [
    "it arrived on {day}",
    "the box was {color}",
    "I compared it with two other models",
    "my {person} uses it every day",
    "setup took about {n} minutes",
    "we keep it in the {room}",
    "it comes with a {color} cable",
    "I read the reviews before buying",
]
DAYS = "monday tuesday wednesday thursday friday saturday sunday".split()
COLORS = "black white grey blue red green silver".split()
ROOMS = "kitchen bedroom garage office hallway studio".split()


def _zipf_cumulative(count: int) -> list[float]:
    total, out = 0.0, []
    for rank in range(count):
        total += 1.0 / (rank + 1)
        out.append(total)
    return out


# Cumulative weights, computed once: random.choices would otherwise sum them on every call.
CLASS_CUM_WEIGHTS = [_zipf_cumulative(len(words)) for words in CLASS_WORDS]


FIELD_CHOICES = {
    "product": PRODUCTS,
    "person": PEOPLE,
    "day": DAYS,
    "color": COLORS,
    "room": ROOMS,
    "n": [str(n) for n in range(2, 31)],
}


def _fill(template: str, rng: random.Random) -> str:
    # Draw only the fields the template uses: generating 200,000 reviews stays a few seconds.
    fields = {
        name: rng.choice(choices)
        for name, choices in FIELD_CHOICES.items()
        if "{" + name + "}" in template
    }
    return template.format(**fields)


def _phrase(rng: random.Random, label: int, negated: bool = False) -> str:
    word = rng.choices(CLASS_WORDS[label], cum_weights=CLASS_CUM_WEIGHTS[label])[0]
    shape = rng.random()
    aspect = rng.choice(ASPECTS)
    if negated:
        return f"the {aspect} is not {word}"
    if shape < 0.4:
        return f"the {aspect} is {word}"
    if shape < 0.7:
        return f"{rng.choice(ADVERBS)} {word} {aspect}"
    return f"{word} overall"


def review(rng: random.Random, label: int, distractor_rate: float = 0.3) -> str:
    """One review whose true sentiment is `label` (an index into LABEL_NAMES)."""
    parts = [_fill(rng.choice(OPENINGS), rng)]
    phrases = [_phrase(rng, label) for _ in range(rng.randint(2, 4))]
    if rng.random() < 0.15:
        # A negated phrase that agrees with the label: "not great" in a negative review.
        sources = [c for c in range(3) if NEGATED_CLASS[c] == label]
        if sources:
            phrases.append(_phrase(rng, rng.choice(sources), negated=True))
    if rng.random() < distractor_rate:
        other = rng.choice([c for c in range(3) if c != label])
        phrases.append("but " + _phrase(rng, other))
    parts.extend(phrases)
    parts.extend(_fill(rng.choice(FILLERS), rng) for _ in range(rng.randint(1, 3)))
    return ". ".join(parts) + "."


def reviews(
    count: int, *, seed: int = 0, label_noise: float = 0.03, class_shares: Sequence[float] = ()
) -> tuple[list[str], list[int]]:
    """`count` reviews and their labels (indices into LABEL_NAMES); the same seed gives the
    same corpus. `label_noise` is the share of labels replaced by a random class, as a careless
    annotator would; the text keeps its true sentiment."""
    rng = random.Random(seed)
    shares = list(class_shares) or [0.45, 0.35, 0.20]
    cum_shares = [sum(shares[: i + 1]) for i in range(len(shares))]
    texts: list[str] = []
    labels: list[int] = []
    for _ in range(count):
        label = rng.choices(range(3), cum_weights=cum_shares)[0]
        texts.append(review(rng, label))
        labels.append(rng.randrange(3) if rng.random() < label_noise else label)
    return texts, labels
