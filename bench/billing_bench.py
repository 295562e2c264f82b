"""Billing benchmark: a month of usage for 10,000,000 annotations, recorded through the
platform's metering service (billing.services.usage_add), then the month's usage API, its
statement, the throughput API and the dashboard page timed over HTTP.

    bash bench/run.sh billing [ANNOTATIONS] [ANNOTATORS]   # throwaway PostgreSQL + gunicorn
    python bench/billing_bench.py --annotations N --url http://127.0.0.1:PORT
                                          # against a running server and its DATABASE_URL

How the annotations are recorded. The platform calls usage_add once per submitted annotation,
inside the submission's transaction (labeling.queue.annotation_submit). 10,000,000 such calls
would take hours on a 2-core machine, and measuring that path is the queue benchmark's job. So:
- SINGLE_CALLS of them are recorded exactly as the queue does: one call per annotation, each
  in its own transaction (with the annotator, and every third one completing an item with its
  turnaround); their latency is reported;
- the rest are recorded by the same function, called once per (project, day, annotator) with
  that group's totals (annotations, annotator seconds, completed items and one turnaround per
  completed item), one transaction per (project, day). Counters are sums, so the rows written
  are exactly those one call per annotation would write. Each (project, day) also records an
  export, with an idempotency key as an export task would.
Layout of the main client: PROJECTS projects x every day of the month x ANNOTATORS annotators,
each annotator working on every project every day: 124,000 per-person rows a month (a
pessimistic layout for the dashboard's per-annotator table; a real annotator works on few
projects). Overlap 3: a third of the annotations complete an item. Three more clients get a
smaller month of their own, so every read is filtered by tenant. No labeling_item or
labeling_annotation row is made: billing never reads them (ARCHITECTURE.md), so they would
only fill the disk.

Reads (one client, sequential, after WARMUP untimed calls): GET organizations/{id}/usage/ for
the month (targets: <= 100 ms), GET organizations/{id}/statements/YYYY-MM/ (<= 500 ms),
GET organizations/{id}/throughput/ for the month, and the dashboard page (session login).
Exits 1 when a check or a target fails.
"""

import argparse
import datetime
import http.client
import os
import random
import re
import secrets
import sys
import time
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlencode, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

import orjson  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.db.models import Sum  # noqa: E402

from billing import periods  # noqa: E402
from billing.models import (  # noqa: E402
    DailyUsage,
    PersonDailyUsage,
    TurnaroundBucket,
    UsageEvent,
)
from billing.services import project_sla_set, rate_card_create, usage_add  # noqa: E402
from tenancy import services  # noqa: E402
from tenancy.models import Membership, Role  # noqa: E402
from tenancy.selectors import vendor_organization  # noqa: E402

PROJECTS = 20
OVERLAP = 3
SINGLE_CALLS = 20_000
OTHER_CLIENTS, OTHER_PROJECTS, OTHER_ANNOTATORS = 3, 5, 20
WARMUP, USAGE_CALLS, STATEMENT_CALLS, THROUGHPUT_CALLS, PAGE_CALLS = 3, 30, 30, 10, 10
TARGET_USAGE_MS, TARGET_STATEMENT_MS = 100, 500
REQUEST_TIMEOUT = 60


def month_days(month: str) -> list[datetime.date]:
    first, last = periods.month_parse(month)
    return [first + datetime.timedelta(days=n) for n in range((last - first).days + 1)]


def split_total(total: int, groups: int, rng: random.Random) -> list[int]:
    """`groups` amounts, uneven (weights 40..120), that add up to `total` exactly."""
    weights = [rng.randint(40, 120) for _ in range(groups)]
    scale = sum(weights)
    amounts = [total * w // scale for w in weights]
    for n in range(total - sum(amounts)):
        amounts[n % groups] += 1
    return amounts


def turnarounds(count: int, rng: random.Random, slow: bool) -> list[float]:
    """Import-to-completion times: lognormal around 6 h; on a slow day around 30 h."""
    median = 30 * 3600 if slow else 6 * 3600
    return [rng.lognormvariate(0, 0.8) * median for _ in range(count)]


# --- setup --------------------------------------------------------------------------------------


def make_annotators(prefix: str, count: int) -> list[int]:
    """Vendor annotators, made in bulk: they never log in here (password hashing would take a
    minute per 200), they only own per-person counters."""
    User = get_user_model()
    users = []
    for n in range(count):
        user = User(username=f"{prefix}-{n:03d}")
        user.set_unusable_password()
        users.append(user)
    User.objects.bulk_create(users)
    ids = list(
        User.objects.filter(username__startswith=f"{prefix}-")
        .order_by("username")
        .values_list("pk", flat=True)
    )
    vendor = vendor_organization()
    Membership.objects.bulk_create(
        Membership(user_id=pk, organization=vendor, role=Role.ANNOTATOR) for pk in ids
    )
    return ids


def make_client(name: str, projects: int, month: str):
    organization = services.organization_create(name=name)
    made = [
        services.project_create(organization=organization, name=f"project {n:02d}", labels=["a"])
        for n in range(projects)
    ]
    first, _ = periods.month_parse(month)
    # Prices change on the 16th: the statement has two periods of four lines each.
    rate_card_create(
        organization=organization,
        currency="USD",
        effective_from=first - datetime.timedelta(days=31),
        per_completed_item=Decimal("0.1250"),
        per_annotation=Decimal("0.0333"),
        per_review=Decimal("0.5000"),
        per_exported_item=Decimal("0.0100"),
    )
    rate_card_create(
        organization=organization,
        currency="USD",
        effective_from=first.replace(day=16),
        per_completed_item=Decimal("0.1000"),
        per_annotation=Decimal("0.0350"),
        per_review=Decimal("0.4500"),
        per_exported_item=Decimal("0.0125"),
    )
    for project in made:
        project_sla_set(project=project, target_hours=24)
    return organization, made


def record_singly(organization, project, day, annotators, count, rng) -> list[float]:
    """`count` annotations the way the queue records them: one call, one transaction each."""
    latencies = []
    for n in range(count):
        completes = n % OVERLAP == OVERLAP - 1
        started = time.perf_counter()
        with transaction.atomic():
            usage_add(
                organization_id=organization.pk,
                project_id=project.pk,
                day=day,
                user_id=annotators[n % len(annotators)],
                annotations=1,
                annotator_seconds=rng.randint(2, 12),
                items_completed=int(completes),
                turnaround_seconds=turnarounds(1, rng, False)[0] if completes else None,
            )
        latencies.append((time.perf_counter() - started) * 1000)
    return latencies


def record_grouped(organization, projects, days, annotators, total, rng, progress=True) -> dict:
    """`total` annotations over every (project, day, annotator), one usage_add per group and
    one transaction per (project, day)."""
    groups = len(projects) * len(days) * len(annotators)
    amounts = iter(split_total(total, groups, rng))
    slow_days = set(rng.sample(days, k=min(3, len(days))))
    stats = {"calls": 0, "annotations": 0, "completed": 0, "seconds": 0, "exported": 0}
    started = time.perf_counter()
    for d, day in enumerate(days):
        for project in projects:
            with transaction.atomic():
                for user_id in annotators:
                    n = next(amounts)
                    completed = n // OVERLAP
                    seconds = n * rng.randint(4, 8)
                    usage_add(
                        organization_id=organization.pk,
                        project_id=project.pk,
                        day=day,
                        user_id=user_id,
                        annotations=n,
                        annotator_seconds=seconds,
                        items_completed=completed,
                        turnaround_seconds=turnarounds(completed, rng, day in slow_days),
                    )
                    stats["calls"] += 1
                    stats["annotations"] += n
                    stats["completed"] += completed
                    stats["seconds"] += seconds
                # The day's export of the project, counted once by its key (as an export task
                # that may be delivered twice records it).
                exported = rng.randint(500, 5000)
                usage_add(
                    organization_id=organization.pk,
                    project_id=project.pk,
                    day=day,
                    exported_items=exported,
                    idempotency_key=f"export:{organization.pk}:{project.pk}:{day}",
                )
                stats["exported"] += exported
            if not d:
                usage_add(
                    organization_id=organization.pk,
                    project_id=project.pk,
                    day=day,
                    items_imported=total // OVERLAP // len(projects) + 1000,
                )
        if progress:
            spent = time.perf_counter() - started
            print(
                f"  day {d + 1}/{len(days)}: {stats['annotations']:,} annotations in "
                f"{stats['calls']:,} calls, {spent:.0f} s",
                flush=True,
            )
    stats["wall"] = time.perf_counter() - started
    return stats


# --- HTTP -----------------------------------------------------------------------------------


class Http:
    def __init__(self, url: str):
        parts = urlsplit(url)
        self.host, self.port = parts.hostname, parts.port or 80
        self.cookies: dict[str, str] = {}

    def request(self, method, path, body=None, headers=None):
        conn = http.client.HTTPConnection(self.host, self.port, timeout=REQUEST_TIMEOUT)
        headers = dict(headers or {})
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        started = time.perf_counter()
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            data = response.read()
        finally:
            conn.close()
        took = (time.perf_counter() - started) * 1000
        for name, value in response.getheaders():
            if name.lower() == "set-cookie":
                key, _, rest = value.partition("=")
                self.cookies[key] = rest.split(";", 1)[0]
        return response.status, data, took, response.getheader("Location")

    def token(self, username: str, password: str) -> str:
        status, body, _, _ = self.request(
            "POST",
            "/api/v1/auth/token/",
            orjson.dumps({"username": username, "password": password}),
            {"Content-Type": "application/json"},
        )
        if status != 200:
            raise RuntimeError(f"token: HTTP {status} {body[:200]!r}")
        return orjson.loads(body)["token"]

    def log_in(self, username: str, password: str) -> None:
        status, body, _, _ = self.request("GET", "/accounts/login/")
        csrf = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', body)[1].decode()
        form = urlencode({"username": username, "password": password, "csrfmiddlewaretoken": csrf})
        status, body, _, location = self.request(
            "POST",
            "/accounts/login/",
            form.encode(),
            {
                "Content-Type": "application/x-www-form-urlencoded",
                "Referer": f"http://{self.host}:{self.port}/accounts/login/",
            },
        )
        if status != 302:
            raise RuntimeError(f"log in: HTTP {status}")


def timed(http_client: Http, path: str, headers: dict, calls: int) -> tuple[list[float], bytes]:
    for _ in range(WARMUP):
        status, body, _, _ = http_client.request("GET", path, headers=headers)
        if status != 200:
            raise RuntimeError(f"GET {path}: HTTP {status} {body[:300]!r}")
    times = []
    for _ in range(calls):
        status, body, took, _ = http_client.request("GET", path, headers=headers)
        if status != 200:
            raise RuntimeError(f"GET {path}: HTTP {status} {body[:300]!r}")
        times.append(took)
    return sorted(times), body


def pct(values: list[float], q: float) -> float:
    return values[min(len(values) - 1, int(q * len(values)))] if values else float("nan")


def line(name: str, values: list[float], target: float | None = None) -> str:
    verdict = ""
    if target is not None:
        met = "met" if pct(values, 0.5) <= target else "NOT met"
        verdict = f"  target p50 <= {target} ms: {met}"
    return (
        f"  {name:<11} n={len(values):>3}  p50 {pct(values, 0.5):7.1f}  p90 {pct(values, 0.9):7.1f}"
        f"  max {values[-1]:7.1f} ms{verdict}"
    )


def check(results: list, name: str, ok: bool, detail: str) -> None:
    results.append(ok)
    print(f"  {'PASS' if ok else 'FAIL'}  {name}: {detail}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--annotations", type=int, default=10_000_000)
    parser.add_argument("--annotators", type=int, default=200)
    last_month = (datetime.date.today().replace(day=1) - datetime.timedelta(days=1)).strftime(
        "%Y-%m"
    )
    parser.add_argument("--month", default=last_month, help="YYYY-MM (default: last month)")
    parser.add_argument("--url", default=os.environ.get("BENCH_WEB_URL", "http://127.0.0.1:8390"))
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    days = month_days(args.month)
    run = f"{time.strftime('%H%M%S')}-{secrets.token_hex(2)}"
    print(
        f"billing benchmark: {args.annotations:,} annotations in {args.month}, {PROJECTS} "
        f"projects x {len(days)} days x {args.annotators} annotators; PostgreSQL "
        f"{connection.settings_dict['HOST']}:{connection.settings_dict['PORT']}; "
        f"{os.cpu_count()} cores shared by this process, PostgreSQL and gunicorn"
    )

    # --- the main client and the others
    organization, projects = make_client(f"Billing bench {run}", PROJECTS, args.month)
    annotators = make_annotators(f"bb-{run}", args.annotators)
    password = secrets.token_urlsafe(18)
    admin = services.member_create(
        organization=organization,
        username=f"bb-{run}-admin",
        password=password,
        role=Role.CLIENT_ADMIN,
    ).user
    print(f"setup: client, {PROJECTS} projects, {args.annotators} annotators, 2 rate cards")

    single = min(SINGLE_CALLS, args.annotations // 10)
    print(f"recording {single:,} annotations one call each (as the queue does) ...", flush=True)
    t0 = time.perf_counter()
    single_ms = sorted(record_singly(organization, projects[0], days[-1], annotators, single, rng))
    single_wall = time.perf_counter() - t0
    print(
        f"  {single:,} calls in {single_wall:.1f} s: {single / single_wall:,.0f} calls/s; per "
        f"call (usage_add + commit) p50 {pct(single_ms, 0.5):.2f} ms, p99 "
        f"{pct(single_ms, 0.99):.2f} ms, max {single_ms[-1]:.1f} ms"
    )
    print(
        f"recording {args.annotations - single:,} annotations, one call per (project, day, "
        "annotator) ...",
        flush=True,
    )
    grouped = record_grouped(
        organization, projects, days, annotators, args.annotations - single, rng
    )
    print(
        f"  {grouped['calls']:,} calls in {grouped['wall']:.1f} s "
        f"({grouped['calls'] / grouped['wall']:,.0f} calls/s, "
        f"{grouped['annotations'] / grouped['wall']:,.0f} annotations/s)"
    )
    t0 = time.perf_counter()
    others = make_annotators(f"bb-{run}-o", OTHER_ANNOTATORS)
    other_total = 0
    for n in range(OTHER_CLIENTS):
        name = f"Billing bench {run} other {n}"
        other, other_projects = make_client(name, OTHER_PROJECTS, args.month)
        per_client = OTHER_PROJECTS * len(days) * OTHER_ANNOTATORS * 40
        record_grouped(other, other_projects, days, others, per_client, rng, progress=False)
        other_total += per_client
    print(
        f"other clients: {OTHER_CLIENTS} x {OTHER_PROJECTS} projects, {other_total:,} annotations "
        f"in {time.perf_counter() - t0:.1f} s"
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")  # what autovacuum does within a minute of such a load

    # --- checks on what was recorded
    results: list[bool] = []
    first, last = periods.month_parse(args.month)
    month_rows = DailyUsage.objects.filter(organization=organization, day__gte=first, day__lte=last)
    sums = month_rows.aggregate(
        annotations=Sum("annotations"),
        completed=Sum("items_completed"),
        seconds=Sum("annotator_seconds"),
    )
    expected_completed = grouped["completed"] + single // OVERLAP
    person = PersonDailyUsage.objects.filter(organization=organization).aggregate(
        n=Sum("annotations")
    )["n"]
    buckets = TurnaroundBucket.objects.filter(organization=organization).aggregate(n=Sum("items"))[
        "n"
    ]
    print("verify:")
    check(
        results,
        "annotations counted",
        sums["annotations"] == args.annotations == person,
        f"{sums['annotations']:,} in the daily rows, {person:,} in the per-person rows",
    )
    check(
        results,
        "completions counted",
        sums["completed"] == expected_completed == buckets,
        f"{sums['completed']:,} completed items, {buckets:,} in the turnaround histogram",
    )
    key = f"bench:{run}:retry"
    before = DailyUsage.objects.get(project=projects[1], day=days[0]).exported_items
    counted = [
        usage_add(
            organization_id=organization.pk,
            project_id=projects[1].pk,
            day=days[0],
            exported_items=500,
            idempotency_key=key,
        )
        for _ in range(3)
    ]
    after = DailyUsage.objects.get(project=projects[1], day=days[0]).exported_items
    check(
        results,
        "a redelivered event counts once",
        counted == [True, False, False] and after - before == 500,
        f"3 deliveries of {key!r} -> {counted}, exported_items +{after - before}",
    )
    print(
        "rows: "
        + ", ".join(
            f"{model.__name__} {model.objects.count():,}"
            for model in (DailyUsage, PersonDailyUsage, TurnaroundBucket, UsageEvent)
        )
        + f"; this client's month: {month_rows.count():,} daily rows"
    )

    # --- reads over HTTP
    client = Http(args.url)
    headers = {"Authorization": f"Token {client.token(admin.username, password)}"}
    org = organization.pk
    usage_path = f"/api/v1/organizations/{org}/usage/?from={first}&to={last}"
    statement_path = f"/api/v1/organizations/{org}/statements/{args.month}/"
    throughput_path = f"/api/v1/organizations/{org}/throughput/?from={first}&to={last}"
    print(f"reads over HTTP ({args.url}, gunicorn {os.environ.get('WEB_WORKERS', '?')} workers):")
    usage_ms, usage_body = timed(client, usage_path, headers, USAGE_CALLS)
    print(line("usage", usage_ms, TARGET_USAGE_MS))
    statement_ms, statement_body = timed(client, statement_path, headers, STATEMENT_CALLS)
    print(line("statement", statement_ms, TARGET_STATEMENT_MS))
    throughput_ms, throughput_body = timed(client, throughput_path, headers, THROUGHPUT_CALLS)
    print(line("throughput", throughput_ms))
    page = Http(args.url)
    page.log_in(admin.username, password)
    page_ms, page_body = timed(
        page, f"/organizations/{org}/usage/?from={first}&to={last}", {}, PAGE_CALLS
    )
    print(line("dashboard", page_ms))

    rows = orjson.loads(usage_body)
    statement = orjson.loads(statement_body)
    throughput = orjson.loads(throughput_body)
    print(
        f"  usage: {len(rows):,} rows, {len(usage_body) / 1024:.0f} KiB; statement: "
        f"{len(statement['lines'])} lines, total {statement['total']} {statement['currency']}; "
        f"throughput: {len(throughput['annotators'])} annotators, "
        f"{len(throughput['sla_breaches'])} days over target, {len(throughput_body) / 1024:.0f} "
        f"KiB; page {len(page_body) / 1024:.0f} KiB"
    )
    billed = {}
    for item in statement["lines"]:
        billed[item["counter"]] = billed.get(item["counter"], 0) + item["quantity"]
    check(
        results,
        "the API's rows add up",
        sum(r["annotations"] for r in rows) == args.annotations and len(rows) == month_rows.count(),
        f"{sum(r['annotations'] for r in rows):,} annotations in {len(rows):,} rows",
    )
    check(
        results,
        "the statement bills what was counted",
        billed.get("annotations") == args.annotations
        and billed.get("items_completed") == expected_completed
        and billed.get("exported_items") == grouped["exported"] + 500
        and Decimal(statement["total"])
        == sum((Decimal(item["amount"]) for item in statement["lines"]), Decimal(0)),
        f"{billed.get('annotations', 0):,} annotations, {billed.get('items_completed', 0):,} "
        f"completed items, {billed.get('exported_items', 0):,} exported; total = sum of lines",
    )
    check(
        results,
        "usage API target",
        pct(usage_ms, 0.5) <= TARGET_USAGE_MS,
        f"p50 {pct(usage_ms, 0.5):.1f} ms (<= {TARGET_USAGE_MS})",
    )
    check(
        results,
        "statement target",
        pct(statement_ms, 0.5) <= TARGET_STATEMENT_MS,
        f"p50 {pct(statement_ms, 0.5):.1f} ms (<= {TARGET_STATEMENT_MS})",
    )
    print(
        f"command: flock /tmp/lqa-bench.lock bash bench/run.sh billing {args.annotations} "
        f"{args.annotators}"
    )
    sys.exit(0 if all(results) else 1)


if __name__ == "__main__":
    main()
