"""Queue benchmark: N simulated annotators empty a project of ITEMS items (overlap 3) over HTTP.

    bash bench/run.sh queue [ITEMS] [ANNOTATORS]     # throwaway PostgreSQL + gunicorn, then this
    python bench/queue_bench.py --items N --annotators K --url http://127.0.0.1:PORT
                                                     # against a running server and its DATABASE_URL

Setup (in this process, through the services): a client organization, a project with overlap 3
and five labels, K vendor annotators assigned to it, ITEMS items imported from a JSONL file by
the import task. Each annotator gets a token from POST /api/v1/auth/token/.

Load: K separate processes (multiprocessing), each labeling with a random label until the queue
is empty, or until the time limit. By default in the combined form (`--form combined`): one
POST /api/v1/projects/{id}/next/, then each POST /api/v1/items/{item}/annotations/ carries
`"next": true` and its answer holds the next task; `--form two-calls` sends `next` and a plain
submission for every label. Each process records the latency of every request and what the server
answered. The clients share the machine's cores with the server and the database, so each
speaks HTTP/1.1 on a plain socket (Client: the request written in one piece; the status line,
the headers and a Content-Length body read back), keeping the connection while the server
does. Against a canned answer it costs ~140 us of CPU per request on a new connection and
~100 us on a kept one, against ~220 and ~150 us with http.client; in queue runs the clients
used 0.5-0.6 ms per annotation instead of 0.9-1.1 ms.

Verification, from the database afterwards: no (item, annotator) labeled twice; every 201 the
clients saw is a row (same item, same person) and every row was acknowledged by a 201; exactly
3 annotations per item (the project has no adaptive overlap); every item complete (decided, or
in the review queue after a tied vote); no 409 or error answers; the usage meter counted every
annotation and completed item; consensus, run by a Celery worker as in production, decided every
completed item within CONSENSUS_WAIT seconds of the last annotation (its CPU is counted). Exits
1 when any check fails or the run did not finish.
"""

import argparse
import http.client
import os
import pickle
import random
import resource
import secrets
import socket
import sys
import tempfile
import time
from array import array
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

import multiprocessing as mp  # noqa: E402

import orjson  # noqa: E402
from django.core.files import File  # noqa: E402
from django.db import connection, connections  # noqa: E402

from labeling.imports.services import import_job_create  # noqa: E402
from labeling.models import Item  # noqa: E402
from tenancy import services  # noqa: E402
from tenancy.models import Role, WorkforceRole  # noqa: E402
from tenancy.selectors import vendor_organization  # noqa: E402

OVERLAP = 3
LABELS = ["positive", "negative", "neutral", "mixed", "spam"]
WORDS = (
    "delivery quality price support battery screen refund broken excellent slow fast "
    "recommend disappointed packaging size color works stopped daily love hate okay"
).split()
# Seconds a single request may take before the client gives up on it (counted as an error).
REQUEST_TIMEOUT = 60
# A client stops after this many failed requests in a row (the server is down, or broken).
MAX_ERRORS_IN_A_ROW = 20
# What the server may answer in a clean run ("next null": a combined answer with nothing left).
EXPECTED_ANSWERS = ("next 200", "next 204", "submit 201", "next null")


# --- the simulated annotator (runs in its own process; stdlib only, never the database) ------


class Client:
    """POSTs over one HTTP/1.1 connection, kept while the server keeps it (a sync gunicorn
    worker answers `Connection: close`: then every request connects anew)."""

    def __init__(self, host: str, port: int, token: str):
        self.address = (host, port)
        self.head = (
            f"Host: {host}:{port}\r\nAuthorization: Token {token}\r\n"
            "Content-Type: application/json\r\nAccept: application/json\r\n"
        ).encode()
        self.sock: socket.socket | None = None

    def post(self, path: str, body: bytes) -> tuple[int, bytes]:
        """(status, body) of the answer; OSError or HTTPException when there is none."""
        if self.sock is None:
            self.sock = socket.create_connection(self.address, timeout=REQUEST_TIMEOUT)
        try:
            self.sock.sendall(
                b"POST %s HTTP/1.1\r\n%sContent-Length: %d\r\n\r\n%s"
                % (path.encode(), self.head, len(body), body)
            )
            data = b""
            while b"\r\n\r\n" not in data:
                data += self._recv()
            head, _, body = data.partition(b"\r\n\r\n")
            status_line, *lines = head.split(b"\r\n")
            status = int(status_line.split(b" ", 2)[1])
            headers = dict(line.lower().split(b":", 1) for line in lines)
            length = headers.get(b"content-length")
            if status in (204, 304):  # no body, whatever the headers say (RFC 9112 6.3)
                length = b"0"
            elif length is None:  # never from Django behind gunicorn: refuse to guess
                raise http.client.HTTPException(f"no Content-Length: {head[:200]!r}")
            while len(body) < int(length):
                body += self._recv()
            if headers.get(b"connection", b"").strip() == b"close":
                self.close()
            return status, body
        except BaseException:
            self.close()
            raise

    def _recv(self) -> bytes:
        data = self.sock.recv(65536)
        if not data:
            raise http.client.RemoteDisconnected("the server closed the connection")
        return data

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None


def annotator_run(spec: dict, go, result_path: str) -> None:
    """Label until the queue is empty or the deadline; the record goes to result_path (pickle).
    Combined form: `next` once, then each submission asks for the next task in the same call;
    two-call form: `next`, then a plain submission."""
    rng = random.Random(spec["seed"])
    conn = Client(spec["host"], spec["port"], spec["token"])
    next_path = f"/api/v1/projects/{spec['project_id']}/next/"
    combined = spec["combined"]
    rec = {
        "index": spec["index"],
        "next_ms": array("f"),  # latency of every plain `next`
        "next_at": array("f"),  # when it answered, seconds after the start
        "submit_ms": array("f"),  # of every submission (with its next task when combined)
        "submit_at": array("f"),
        "acked": array("q"),  # (annotation id, item id) pairs of every 201, flattened
        "statuses": {},  # "next 200": n, "submit 201": n, ...
        "errors": [],  # first few unexpected answers, for the report
        "finished": False,  # saw 204 (or a combined answer's null next)
        "timed_out": False,
        "gave_up": False,
    }
    go.wait()
    start = spec["start_wall"]
    deadline = time.monotonic() + spec["time_limit"] - (time.time() - start)
    in_a_row = 0
    item = None  # the task in hand

    def count(key: str) -> None:
        rec["statuses"][key] = rec["statuses"].get(key, 0) + 1

    def note(kind: str, status, body: bytes) -> None:
        count(f"{kind} {status}")
        if len(rec["errors"]) < 5:
            rec["errors"].append((f"{kind} {status}", body[:300].decode("utf-8", "replace")))

    while True:
        if time.monotonic() >= deadline:
            rec["timed_out"] = True
            break
        if in_a_row >= MAX_ERRORS_IN_A_ROW:
            rec["gave_up"] = True
            break
        if item is None:
            sent = time.perf_counter()
            try:
                status, body = conn.post(next_path, b"")
            except (OSError, http.client.HTTPException) as exc:
                conn.close()
                note("next", type(exc).__name__, str(exc).encode())
                in_a_row += 1
                time.sleep(0.05)
                continue
            took = time.perf_counter() - sent
            rec["next_ms"].append(took * 1000)
            rec["next_at"].append(time.time() - start)
            if status == 204:
                count("next 204")
                rec["finished"] = True
                break
            if status != 200:
                note("next", status, body)
                in_a_row += 1
                time.sleep(0.05)
                continue
            count("next 200")
            item = orjson.loads(body)["item"]
        label = {"label": rng.choice(LABELS), "duration_ms": rng.randint(800, 9000)}
        payload = orjson.dumps({**label, "next": True} if combined else label)
        sent = time.perf_counter()
        try:
            status, body = conn.post(f"/api/v1/items/{item}/annotations/", payload)
        except (OSError, http.client.HTTPException) as exc:
            # Did it commit? The next `next` tells: the same item again if it did not.
            conn.close()
            note("submit", type(exc).__name__, str(exc).encode())
            in_a_row += 1
            item = None
            continue
        rec["submit_ms"].append((time.perf_counter() - sent) * 1000)
        rec["submit_at"].append(time.time() - start)
        if status != 201:
            note("submit", status, body)  # 409 included: a held lease must never get one
            in_a_row += 1
            item = None
            continue
        count("submit 201")
        in_a_row = 0
        answer = orjson.loads(body)
        if not combined:
            rec["acked"].extend((answer["id"], item))
            item = None
            continue
        rec["acked"].extend((answer["annotation"]["id"], item))
        if answer.get("next_error"):
            note("submit next_error", 201, body)
            item = None
        elif answer["next"] is None:
            count("next null")
            rec["finished"] = True
            break
        else:
            item = answer["next"]["item"]
    conn.close()
    rec["end"] = time.time() - start
    usage = resource.getrusage(resource.RUSAGE_SELF)
    rec["cpu"] = usage.ru_utime + usage.ru_stime
    with open(result_path, "wb") as out:
        pickle.dump(rec, out)


# --- setup --------------------------------------------------------------------------------------


def write_items(path: Path, count: int, seed: int = 11) -> None:
    rng = random.Random(seed)
    with open(path, "wb") as out:
        for n in range(count):
            text = " ".join(rng.choices(WORDS, k=32))[:200]
            out.write(orjson.dumps({"id": f"q-{n}", "data": {"text": text}}) + b"\n")


def http_json(url: str, path: str, payload: dict) -> tuple[int, dict]:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=REQUEST_TIMEOUT)
    try:
        conn.request(
            "POST", path, body=orjson.dumps(payload), headers={"Content-Type": "application/json"}
        )
        response = conn.getresponse()
        body = response.read()
    finally:
        conn.close()
    try:
        return response.status, orjson.loads(body)
    except orjson.JSONDecodeError:
        return response.status, {"body": body[:300].decode("utf-8", "replace")}


def setup(args) -> tuple:
    run = f"{time.strftime('%H%M%S')}-{secrets.token_hex(2)}"
    organization = services.organization_create(name=f"Queue bench {run}")
    project = services.project_create(
        organization=organization,
        name="queue bench",
        labels=LABELS,
        overlap=OVERLAP,
        # no adaptive overlap: every item gets exactly OVERLAP labels (a tied vote goes to
        # the review queue instead of asking a fourth annotator)
        max_overlap=OVERLAP,
    )
    vendor = vendor_organization()
    t0 = time.perf_counter()
    people = []  # (user id, username, password)
    for n in range(args.annotators):
        password = secrets.token_urlsafe(18)
        member = services.member_create(
            organization=vendor,
            username=f"qb-{run}-{n:03d}",
            password=password,
            role=Role.ANNOTATOR,
        )
        services.workforce_assign(project=project, user=member.user, role=WorkforceRole.ANNOTATOR)
        people.append((member.user.pk, member.user.username, password))
    print(
        f"setup: {args.annotators} annotators created and assigned in "
        f"{time.perf_counter() - t0:.1f} s (password hashing dominates)"
    )

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "queue-bench.jsonl"
        t0 = time.perf_counter()
        write_items(path, args.items)
        with open(path, "rb") as handle:
            # No broker: the import task runs here, right after the job's row commits.
            job = import_job_create(project=project, upload=File(handle, name=path.name))
        job.refresh_from_db()
    stored = Item.objects.filter(project=project).count()
    print(f"setup: imported {stored:,} items ({job.status}) in {time.perf_counter() - t0:.1f} s")
    if job.status != "succeeded" or stored != args.items:
        sys.exit(f"setup failed: import {job.status}: {job.message}")
    # What a production database would have by the time annotators arrive (autovacuum's
    # analyze follows a big import within a minute); without it the first minute of the run
    # plans the queue's queries against the statistics of an empty table.
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE labeling_item")

    t0 = time.perf_counter()

    def token_for(person) -> str:
        status, body = http_json(
            args.url, "/api/v1/auth/token/", {"username": person[1], "password": person[2]}
        )
        if status != 200 or "token" not in body:
            raise RuntimeError(f"token for {person[1]}: HTTP {status} {body}")
        return body["token"]

    with ThreadPoolExecutor(max_workers=4) as pool:
        tokens = list(pool.map(token_for, people))
    print(
        f"setup: {len(tokens)} tokens from POST /api/v1/auth/token/ in "
        f"{time.perf_counter() - t0:.1f} s"
    )
    return organization, project, people, tokens


# --- CPU accounting (best effort: needs the servers on this machine and /proc) -----------------


def _stat(pid: int) -> list[str] | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def tree_cpu(root: int | None) -> float | None:
    """CPU seconds of a process, its reaped children and its live children (one level down:
    gunicorn's workers, PostgreSQL's backends)."""
    if root is None:
        return None
    fields = _stat(root)
    if fields is None:
        return None
    ticks = sum(int(fields[i]) for i in (11, 12, 13, 14))
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            child = _stat(int(entry.name))
            if child is not None and int(child[1]) == root:
                ticks += sum(int(child[i]) for i in (11, 12, 13, 14))
    return ticks / os.sysconf("SC_CLK_TCK")


def machine_busy() -> float:
    """CPU seconds all processes of the machine used since boot (all cores)."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]
    return (sum(values[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def pid_from(path: str | None) -> int | None:
    try:
        return int(Path(path).read_text().split()[0]) if path else None
    except (OSError, ValueError, IndexError):
        return None


def cpu_snapshot() -> dict:
    var, pgdata = os.environ.get("LQA_VAR"), os.environ.get("LQA_PGDATA")
    web = pid_from(f"{var}/web.pid" if var else None)
    celery = pid_from(f"{var}/celery.pid" if var else None)
    pg = pid_from(f"{pgdata}/postmaster.pid" if pgdata else None)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    me = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "web": tree_cpu(web),
        "celery": tree_cpu(celery),
        "postgres": tree_cpu(pg),
        "clients": children.ru_utime + children.ru_stime,
        "bench": me.ru_utime + me.ru_stime,
        "machine": machine_busy(),
    }


# --- report -------------------------------------------------------------------------------------


# Seconds the Celery worker may take, after the last annotation, to decide the items still
# waiting for consensus.
CONSENSUS_WAIT = 300


def consensus_wait(project) -> tuple[int, float]:
    """(items still waiting for consensus, seconds waited) once none waits or CONSENSUS_WAIT
    has passed: complete items without a label (a decided one has its label, or is in review)."""
    t0 = time.monotonic()
    while True:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM labeling_item WHERE organization_id = %s "
                "AND project_id = %s AND status = 'complete' AND label IS NULL",
                [project.organization_id, project.pk],
            )
            waiting = cursor.fetchone()[0]
        waited = time.monotonic() - t0
        if waiting == 0 or waited > CONSENSUS_WAIT:
            return waiting, waited
        time.sleep(0.5)


def statements_reset() -> bool:
    """Start PostgreSQL's per-statement figures afresh; False without pg_stat_statements
    (bench/run.sh loads it)."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_stat_statements_reset()")
        return True
    except Exception:  # noqa: BLE001 - the figures are optional
        return False


def statements_report(annotations: int, top: int = 10) -> None:
    """Where PostgreSQL spent its time during the run: the statements by total time, each with
    its calls and mean, and the whole per annotation."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT calls, total_exec_time, mean_exec_time, rows, query FROM pg_stat_statements "
            "WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) "
            "AND query NOT LIKE '%%pg_stat_statements%%' ORDER BY total_exec_time DESC"
        )
        rows = cursor.fetchall()
    whole = sum(row[1] for row in rows)
    print(
        f"PostgreSQL statements (pg_stat_statements; execution only, not parsing, commits or "
        f"the protocol): {whole / 1000:.1f} s in all, "
        f"{whole / annotations if annotations else 0:.2f} ms per annotation"
    )
    for calls, total, mean, _rows, query in rows[:top]:
        text = " ".join(query.split())
        print(f"  {total / 1000:7.1f} s {calls:>9,} calls {mean:7.3f} ms  {text[:110]}")


def pct(sorted_values, q: float) -> float:
    if not sorted_values:
        return float("nan")
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


def latency_line(name: str, values) -> str:
    v = sorted(values)
    return (
        f"{name:<7} n={len(v):>8,}  p50 {pct(v, 0.50):7.1f}  p90 {pct(v, 0.90):7.1f}  "
        f"p99 {pct(v, 0.99):7.1f}  max {v[-1] if v else float('nan'):8.1f}  (ms)"
    )


def check(results: list, name: str, ok: bool, detail: str) -> None:
    results.append(ok)
    print(f"  {'PASS' if ok else 'FAIL'}  {name}: {detail}")


def verify(project, people, records, items: int) -> bool:
    """Compare what the clients saw with what the database holds."""
    user_of = {rec["index"]: people[rec["index"]][0] for rec in records}
    acked = {}  # annotation id -> (item id, user id)
    for rec in records:
        pairs = rec["acked"]
        for n in range(0, len(pairs), 2):
            acked[pairs[n]] = (pairs[n + 1], user_of[rec["index"]])
    acked_count = sum(len(rec["acked"]) // 2 for rec in records)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT a.id, a.item_id, an.user_id FROM labeling_annotation a "
            "JOIN labeling_annotator an ON an.id = a.annotator_id WHERE a.project_id = %s",
            [project.pk],
        )
        rows = {pk: (item, user) for pk, item, user in cursor.fetchall()}
        cursor.execute(
            "SELECT count(*) FROM (SELECT 1 FROM labeling_annotation WHERE project_id = %s "
            "GROUP BY item_id, annotator_id HAVING count(*) > 1) d",
            [project.pk],
        )
        duplicates = cursor.fetchone()[0]
        cursor.execute(
            "SELECT count(*) FILTER (WHERE coalesce(a.n, 0) <> %s), "
            "       count(*) FILTER (WHERE i.done <> coalesce(a.n, 0)), count(*) "
            "FROM labeling_item i LEFT JOIN (SELECT item_id, count(*) n FROM labeling_annotation "
            "  WHERE project_id = %s GROUP BY item_id) a ON a.item_id = i.id "
            "WHERE i.project_id = %s",
            [OVERLAP, project.pk, project.pk],
        )
        not_three, done_mismatch, item_rows = cursor.fetchone()
        cursor.execute(
            "SELECT count(*) FILTER (WHERE status NOT IN ('complete', 'review') "
            "  OR completed_at IS NULL OR done < needed) FROM labeling_item WHERE project_id = %s",
            [project.pk],
        )
        incomplete = cursor.fetchone()[0]
        cursor.execute(
            "SELECT count(*) FROM labeling_lease WHERE project_id = %s AND annotation_id IS NULL "
            "AND NOT skipped AND expires_at > now()",
            [project.pk],
        )
        live_leases = cursor.fetchone()[0]
        cursor.execute(
            "SELECT coalesce(sum(annotations), 0), coalesce(sum(items_completed), 0) "
            "FROM billing_dailyusage WHERE project_id = %s",
            [project.pk],
        )
        metered, metered_completed = cursor.fetchone()

    lost = [pk for pk in acked if pk not in rows]
    mismatched = [pk for pk, who in acked.items() if pk in rows and rows[pk] != who]
    unacked = [pk for pk in rows if pk not in acked]
    statuses: dict[str, int] = {}
    for rec in records:
        for key, n in rec["statuses"].items():
            statuses[key] = statuses.get(key, 0) + n
    expected_answers = EXPECTED_ANSWERS
    unexpected = {k: n for k, n in statuses.items() if k not in expected_answers}

    print(f"verify (database: {len(rows):,} annotation rows, {item_rows:,} items):")
    results: list[bool] = []
    check(
        results,
        "no duplicates",
        duplicates == 0,
        f"{duplicates} (item, annotator) pairs labeled more than once",
    )
    check(
        results,
        "no lost submissions",
        not lost and not mismatched and acked_count == len(acked),
        f"{acked_count:,} acknowledged (201), {len(lost)} of them missing from the database, "
        f"{len(mismatched)} stored for another item or person, "
        f"{acked_count - len(acked)} ids acknowledged twice",
    )
    check(
        results,
        "every row acknowledged",
        not unacked,
        f"{len(unacked)} rows the clients never got a 201 for",
    )
    check(
        results,
        f"exactly {OVERLAP} per item",
        not_three == 0 and item_rows == items,
        f"{not_three} items with another count ({item_rows:,} of {items:,} items present)",
    )
    check(
        results,
        "every item complete",
        incomplete == 0 and done_mismatch == 0,
        f"{incomplete} items not complete, {done_mismatch} whose `done` disagrees with their "
        f"rows; {live_leases} leases still live",
    )
    answers = ", ".join(f"{k}: {n}" for k, n in sorted(unexpected.items()))
    check(results, "no 409s or errors", not unexpected, answers or "none")
    check(
        results,
        "usage meter",
        metered == len(rows) and metered_completed == items - incomplete,
        f"{metered:,} annotations and {metered_completed:,} completed items metered",
    )
    if unexpected:
        print("  first unexpected answers:")
        shown = 0
        for rec in records:
            for key, body in rec["errors"]:
                if shown < 8:
                    print(f"    annotator {rec['index']}: {key}: {body}")
                    shown += 1
    return all(results)


def timeline(records, wall: float, windows: int = 10) -> None:
    """Throughput and `next` latency over the run, to see whether it degrades as it goes."""
    if wall <= 0:
        return
    width = wall / windows
    done = [0] * windows
    nexts: list[list[float]] = [[] for _ in range(windows)]
    for rec in records:
        for at in rec["submit_at"]:
            done[min(windows - 1, int(at / width))] += 1
        for at, ms in zip(rec["next_at"], rec["next_ms"], strict=True):
            nexts[min(windows - 1, int(at / width))].append(ms)
    print(f"over the run ({windows} windows of {width:.1f} s): annotations/s | next p50 / p99 ms")
    for n in range(windows):
        v = sorted(nexts[n])
        print(
            f"  {n * width:7.1f}-{(n + 1) * width:7.1f} s  {done[n] / width:7.1f}/s | "
            f"{pct(v, 0.5):6.1f} / {pct(v, 0.99):6.1f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--annotators", type=int, default=32)
    parser.add_argument("--url", default=os.environ.get("BENCH_WEB_URL", "http://127.0.0.1:8390"))
    parser.add_argument("--time-limit", type=float, default=600, help="seconds (default 600)")
    parser.add_argument(
        "--form",
        choices=["combined", "two-calls"],
        default="combined",
        help="submissions ask for the next task in the same call (default), or next + submit",
    )
    args = parser.parse_args()
    if args.annotators < OVERLAP:
        sys.exit(f"Give at least {OVERLAP} annotators: each item needs {OVERLAP} different people.")
    parts = urlsplit(args.url)
    cores = os.cpu_count()
    workers = os.environ.get("WEB_WORKERS", "?")
    print(
        f"queue benchmark ({args.form}): {args.items:,} items x overlap {OVERLAP}, "
        f"{args.annotators} annotator processes -> {args.url} "
        f"(gunicorn, {workers} sync workers), PostgreSQL "
        f"{connection.settings_dict['HOST']}:{connection.settings_dict['PORT']} "
        f"(web CONN_MAX_AGE={os.environ.get('WEB_CONN_MAX_AGE', '600')})"
    )
    print(f"note: the clients, gunicorn and PostgreSQL all share this machine's {cores} cores")

    organization, project, people, tokens = setup(args)

    result_dir = tempfile.mkdtemp(prefix="queue-bench-")
    connections.close_all()  # the children are forked: they must not share this connection
    ctx = mp.get_context("fork")
    go = ctx.Event()
    procs = []
    specs = []
    for n, token in enumerate(tokens):
        specs.append(
            {
                "index": n,
                "token": token,
                "project_id": project.pk,
                "host": parts.hostname,
                "port": parts.port or 80,
                "seed": 1000 + n,
                "time_limit": args.time_limit,
                "combined": args.form == "combined",
            }
        )
    load_before = os.getloadavg()
    print(
        f"load average before the run: {load_before[0]:.2f} {load_before[1]:.2f} "
        f"{load_before[2]:.2f} ({cores} cores)"
    )
    start_wall = time.time() + 2.0  # every process is forked and waiting by then
    for spec in specs:
        spec["start_wall"] = start_wall
        proc = ctx.Process(
            target=annotator_run,
            args=(spec, go, os.path.join(result_dir, f"{spec['index']}.pickle")),
            daemon=True,
        )
        proc.start()
        procs.append(proc)
    time.sleep(max(0.0, start_wall - time.time()))
    statements = statements_reset()
    cpu0 = cpu_snapshot()
    go.set()
    print(
        f"running: {args.annotators} annotators, time limit {args.time_limit:.0f} s ...", flush=True
    )
    limit_at = time.monotonic() + args.time_limit + REQUEST_TIMEOUT + 10
    for proc in procs:
        proc.join(max(0.0, limit_at - time.monotonic()))
    stuck = [proc for proc in procs if proc.is_alive()]
    for proc in stuck:
        proc.terminate()
        proc.join(5)
    ended = time.time()
    waiting, caught_up = consensus_wait(project)
    cpu1 = cpu_snapshot()
    load_after = os.getloadavg()

    records = []
    for spec in specs:
        path = os.path.join(result_dir, f"{spec['index']}.pickle")
        if os.path.exists(path):
            with open(path, "rb") as handle:
                records.append(pickle.load(handle))
            os.unlink(path)
    os.rmdir(result_dir)
    missing = len(specs) - len(records)

    wall = max((rec["end"] for rec in records), default=ended - start_wall)
    total = sum(len(rec["acked"]) // 2 for rec in records)
    expected = args.items * OVERLAP
    finished = all(rec["finished"] for rec in records) and not missing
    print()
    if finished:
        print(f"finished: every annotator got 204 (nothing left) after {wall:.1f} s")
    else:
        timed_out = sum(rec["timed_out"] for rec in records)
        gave_up = sum(rec["gave_up"] for rec in records)
        print(
            f"DID NOT FINISH: {total:,} of {expected:,} annotations in {wall:.1f} s "
            f"(time limit {args.time_limit:.0f} s): {timed_out} annotators hit the time limit, "
            f"{gave_up} gave up after {MAX_ERRORS_IN_A_ROW} failures in a row, "
            f"{missing} crashed or were stuck"
        )
    print(
        f"annotations: {total:,} of {expected:,}; wall {wall:.1f} s; "
        f"{total / wall if wall else 0:,.1f} annotations/s "
        f"(target >= 300/s with 32 annotators)"
    )
    answers: dict[str, int] = {}
    for rec in records:
        for key, n in rec["statuses"].items():
            answers[key] = answers.get(key, 0) + n
    conflicts = sum(n for key, n in answers.items() if key.endswith(" 409"))
    others = sum(n for key, n in answers.items() if key not in EXPECTED_ANSWERS)
    print(
        f"answers: next 200 x{answers.get('next 200', 0):,}, "
        f"next 204 x{answers.get('next 204', 0)}, "
        f"submit 201 x{answers.get('submit 201', 0):,}, "
        f"combined answers with no next x{answers.get('next null', 0)}; 409s {conflicts}, "
        f"other errors {others - conflicts}"
    )
    submit_name = "submit+next" if args.form == "combined" else "submit"
    print(latency_line("next", [ms for rec in records for ms in rec["next_ms"]]))
    print(latency_line(submit_name, [ms for rec in records for ms in rec["submit_ms"]]))
    # The call the annotator waits on between two labels: the combined one, or `next`.
    key = "submit_ms" if args.form == "combined" else "next_ms"
    waited = sorted(ms for rec in records for ms in rec[key])
    name = submit_name if args.form == "combined" else "next"
    print(
        f"target p99 {name} < 150 ms: {'met' if pct(waited, 0.99) < 150 else 'NOT met'} "
        f"({pct(waited, 0.99):.1f} ms)"
    )
    timeline(records, wall)
    if statements:
        statements_report(total)

    spent = {
        k: (cpu1[k] - cpu0[k]) if cpu0[k] is not None and cpu1[k] is not None else None
        for k in cpu0
    }
    elapsed = ended - start_wall

    def sec(key):
        return f"{spent[key]:.0f} s" if spent[key] is not None else "n/a"

    ours = sum(v for k, v in spent.items() if k != "machine" and v is not None)
    print(
        f"CPU over {elapsed:.0f} s x {cores} cores = {elapsed * cores:.0f} core-s available: "
        f"clients {sec('clients')}, gunicorn {sec('web')}, Celery {sec('celery')}, "
        f"PostgreSQL {sec('postgres')}, "
        f"this process {sec('bench')}; other processes on the machine "
        f"{max(0.0, spent['machine'] - ours):.0f} s"
    )
    if total:
        per = ", ".join(
            f"{name} {spent[key] / total * 1000:.1f} ms"
            for name, key in (
                ("gunicorn", "web"),
                ("Celery (consensus)", "celery"),
                ("PostgreSQL", "postgres"),
                ("clients", "clients"),
            )
            if spent[key] is not None
        )
        calls = "one combined call" if args.form == "combined" else "one next + one submit"
        print(f"CPU per annotation ({calls}): {per}")
    print(
        f"load average after the run: {load_after[0]:.2f} {load_after[1]:.2f} {load_after[2]:.2f}"
    )
    print(
        "consensus (Celery worker): "
        + (
            f"every completed item decided {caught_up:.1f} s after the last annotation"
            if not waiting
            else f"{waiting:,} items still waiting {caught_up:.0f} s after the last annotation"
        )
    )
    ok = verify(project, people, records, args.items) and finished and not waiting
    print(f"result: {'PASS' if ok else 'FAIL'}")
    form = "" if args.form == "combined" else " two-calls"
    print(f"reproduce: bash bench/run.sh queue {args.items} {args.annotators}{form}")
    if not ok:
        sys.exit(1)


if __name__ == "__main__":
    main()
