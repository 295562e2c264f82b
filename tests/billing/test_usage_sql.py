"""billing_usage_annotation() (billing/sql/), the task queue's usage in SQL, counts
what usage_add() counts for the same submission: rounding, buckets, every row."""

import datetime
from decimal import Decimal

from django.db import connection

from billing import turnaround
from billing.models import DailyUsage, PersonDailyUsage, TurnaroundBucket
from billing.services import usage_add
from tenancy.models import Role

# Half seconds (Python rounds them to even), none, zero, the longest allowed.
DURATIONS = [None, 0, 499, 500, 1500, 2500, 2501, 3499, 86_400_000]
# Turnarounds in seconds: under one, exact powers of two, the bucket edges 2^(b/8) and a hair
# on either side, the last bucket and beyond.
EDGES = [2 ** (b / 8) for b in range(0, 201, 7)]
TURNAROUNDS = [None, Decimal(0), Decimal("0.999999"), Decimal(1), Decimal(2), Decimal(1024)]
TURNAROUNDS += [Decimal(e).quantize(Decimal("0.000001")) for e in EDGES]
TURNAROUNDS += [Decimal(e * 1.000001).quantize(Decimal("0.000001")) for e in EDGES]
TURNAROUNDS += [Decimal(2**25), Decimal(2**26 + 0.5)]


def _rows(project, day):
    def of(model):
        return sorted(
            tuple(v for k, v in row.items() if k not in ("id", "day"))
            for row in model.objects.filter(project=project, day=day).values()
        )

    return of(DailyUsage), of(PersonDailyUsage), of(TurnaroundBucket)


def test_the_sql_usage_of_a_submission_is_usage_adds(world):
    project, user = world.a.project, world.users[Role.ANNOTATOR]
    by_sql, by_python = datetime.date(2026, 1, 1), datetime.date(2026, 1, 2)
    keys = {"organization_id": project.organization_id, "project_id": project.pk}
    cases = [(d, None) for d in DURATIONS] + [(1000, t) for t in TURNAROUNDS]
    with connection.cursor() as cursor:
        for duration_ms, seconds in cases:
            cursor.execute(
                "SELECT billing_usage_annotation(%s, %s, %s, %s, %s, %s)",
                [*keys.values(), by_sql, user.pk, duration_ms, seconds],
            )
            usage_add(
                **keys,
                day=by_python,
                annotations=1,
                annotator_seconds=round((duration_ms or 0) / 1000),
                items_completed=int(seconds is not None),
                user_id=user.pk,
                turnaround_seconds=None if seconds is None else float(seconds),
            )
    assert _rows(project, by_sql) == _rows(project, by_python)
    daily = DailyUsage.objects.get(project=project, day=by_sql)
    assert daily.annotator_seconds == 0 + 0 + 0 + 0 + 2 + 2 + 3 + 3 + 86_400 + len(TURNAROUNDS)
    used = {row.bucket for row in TurnaroundBucket.objects.filter(project=project, day=by_sql)}
    assert {0, 1, 9, 81, turnaround.LAST_BUCKET} <= used
