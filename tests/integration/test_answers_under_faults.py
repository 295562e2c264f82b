"""Answers that never lie, under faults of the real services: annotators submit over HTTP to a
real gunicorn while its Redis is stopped, or while its PostgreSQL restarts.

Each case starts private services on free loopback ports with platform/services.sh (a Redis,
a gunicorn, a Celery worker with its beat; for the restart a PostgreSQL cluster holding a copy
of the test database) and stops them in `finally`; the suite's shared services are never
touched. Each case prints its figures (answers by status, retries, rows in the database)."""

from __future__ import annotations

import glob
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest
from django.conf import settings
from django.db import connection

from core.models import IdempotencyKey, OutboxMessage
from exports.models import Export
from labeling.models import Annotation, ImportJob, Item
from tenancy import services as tenancy_services
from tests.conftest import require_service
from tests.factories import DatasetFactory, ItemFactory, TokenFactory, VendorFactory

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

ROOT = Path(settings.BASE_DIR)
SERVICES = ["bash", str(ROOT / "platform" / "services.sh")]
ANNOTATORS = 6
REDIS_DOWN_SECONDS = 10
# In the restart case one submission in this many loses its first answer on the way.
LOSE_EVERY = 20
# Bounds of a hung run only (a loaded 2-core machine is slow, not this slow).
START_SECONDS = 180
DECIDE_SECONDS = 120
SUBMIT_SECONDS = 90


@pytest.fixture(scope="module", autouse=True)
def suite_services():
    require_service("LQA_TEST_CELERY", "Redis, PostgreSQL and a Celery worker")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Private:
    """Services of this test only, on their own ports and state folder (platform/services.sh
    with LQA_VAR, REDIS_PORT, WEB_PORT, PG_PORT, LQA_PGDATA of its own)."""

    def __init__(self, tmp: Path, database_url: str):
        self.var = tmp / "var"
        self.var.mkdir()
        self.redis_port, self.web_port = free_port(), free_port()
        self.env = {
            **os.environ,
            "LQA_VAR": str(self.var),
            "REDIS_PORT": str(self.redis_port),
            "WEB_PORT": str(self.web_port),
            "WEB_WORKERS": "2",
            "DATABASE_URL": database_url,
            "CELERY_BROKER_URL": f"redis://127.0.0.1:{self.redis_port}/0",
            "CELERY_RESULT_BACKEND": f"redis://127.0.0.1:{self.redis_port}/1",
            # the outbox's sweep every second (10 in production): the case waits less
            "LQA_OUTBOX_SECONDS": "1",
        }
        self.started: list[str] = []
        self.workers_started = 0

    def service(self, action: str, name: str) -> float:
        """Run `services.sh ACTION NAME`; the seconds it took."""
        started = time.monotonic()
        done = subprocess.run(
            [*SERVICES, action, name], env=self.env, capture_output=True, text=True,
            timeout=START_SECONDS,
        )  # fmt: skip
        assert done.returncode == 0, f"services.sh {action} {name}: {done.stdout}{done.stderr}"
        if action == "start" and name not in self.started:
            self.started.append(name)
        return time.monotonic() - started

    def start_worker(self) -> None:
        """A Celery worker with its beat (-B), on this test's Redis and database."""
        self.workers_started += 1
        pidfile, log = self.var / "worker.pid", self.var / f"worker-{self.workers_started}.log"
        subprocess.run(
            [str(ROOT / ".venv" / "bin" / "celery"), "-A", "config", "worker", "-B",
             f"--schedule={self.var / 'beat-schedule'}", "--loglevel=INFO", "--concurrency=1",
             f"--hostname=answers{self.redis_port}@%h", f"--pidfile={pidfile}",
             f"--logfile={log}", "--detach"],
            env=self.env, cwd=ROOT, check=True, timeout=START_SECONDS,
        )  # fmt: skip
        if "worker" not in self.started:
            self.started.append("worker")
        wait_for(lambda: log.exists() and " ready." in log.read_text(), "the worker", START_SECONDS)

    def worker_alive(self) -> bool:
        try:
            os.kill(int((self.var / "worker.pid").read_text()), 0)
        except (OSError, ValueError):
            return False
        return True

    def stop_worker(self) -> None:
        pidfile = self.var / "worker.pid"
        if not pidfile.exists():
            return
        pid = int(pidfile.read_text())
        try:
            group = os.getpgid(pid)
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                os.kill(pid, 0)
                time.sleep(0.2)
            os.killpg(group, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def close(self) -> None:
        for name in reversed(self.started):
            try:
                self.stop_worker() if name == "worker" else self.service("stop", name)
            except Exception as exc:  # stop the others all the same
                print(f"stopping {name} failed: {exc}")


def wait_for(predicate, what: str, seconds: float) -> float:
    started = time.monotonic()
    while not predicate():
        assert time.monotonic() - started < seconds, f"{what}: not within {seconds}s"
        time.sleep(0.2)
    return time.monotonic() - started


@dataclass
class Figures:
    """What the annotators saw, counted under one lock."""

    answers: Counter = field(default_factory=Counter)  # (call, status) -> count
    retries: int = 0
    replayed: int = 0
    submitted: list = field(default_factory=list)  # {item, key, body, annotation, at, tries}
    late_503: int = 0  # 503s of requests started after the service was back
    lost: int = 0  # first answers lost on the way on purpose
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self, call: str, status) -> None:
        with self.lock:
            self.answers[(call, status)] += 1


class Annotator:
    """One annotator's client over HTTP: the next task, then the combined call, each submission
    with an Idempotency-Key of its own, sent again with the same key until it is answered."""

    def __init__(
        self, port: int, token: str, figures: Figures, back: threading.Event, lose_every: int = 0
    ):
        self.port, self.token, self.figures, self.back = port, token, figures, back
        # every this many submissions the first answer is lost on the way (0: never)
        self.lose_every, self.sent = lose_every, 0

    def request(self, path: str, body: dict | None, key: str | None = None, lose=False):
        """(status, headers, json) or (None, {}, None) when no answer came."""
        headers = {"Authorization": f"Token {self.token}", "Content-Type": "application/json"}
        if key:
            headers["Idempotency-Key"] = key
        after_back = self.back.is_set()
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            conn.request("POST", path, json.dumps(body or {}), headers)
            if lose:  # the request went out; its answer never arrives (the server still runs it)
                with self.figures.lock:
                    self.figures.lost += 1
                return None, {}, None
            response = conn.getresponse()
            raw = response.read()
        except (OSError, http.client.HTTPException):
            return None, {}, None
        finally:
            conn.close()
        if response.status == 503 and after_back:
            with self.figures.lock:
                self.figures.late_503 += 1
        return response.status, dict(response.getheaders()), json.loads(raw) if raw else None

    def until_answered(self, call: str, path: str, body: dict | None, key: str | None = None):
        deadline = time.monotonic() + SUBMIT_SECONDS
        tries = 0
        if call == "submit":
            self.sent += 1
        lose = call == "submit" and self.lose_every and self.sent % self.lose_every == 0
        while True:
            tries += 1
            status, headers, data = self.request(path, body, key, lose=lose and tries == 1)
            self.figures.count(call, status)
            if status not in (None, 503):
                return status, headers, data, tries
            assert time.monotonic() < deadline, f"{call} {path}: no answer in {SUBMIT_SECONDS}s"
            with self.figures.lock:
                self.figures.retries += 1
            time.sleep(0.2)

    def work(self, project_id: int, stop: threading.Event) -> None:
        status, _, task, _ = self.until_answered("next", f"/api/v1/projects/{project_id}/next/", {})
        while status == 200 and task and not stop.is_set():
            item = task["item"]
            key, body = str(uuid.uuid4()), {"label": "yes" if item % 4 else "no", "next": True}
            status, headers, answer, tries = self.until_answered(
                "submit", f"/api/v1/items/{item}/annotations/", body, key
            )
            with self.figures.lock:
                self.figures.replayed += headers.get("Idempotent-Replayed") == "true"
                self.figures.submitted.append(
                    {"item": item, "key": key, "body": body, "status": status, "answer": answer,
                     "at": time.monotonic(), "tries": tries, "token": self.token}
                )  # fmt: skip
            if status != 201:
                return
            task = answer["next"]
            status = 200
            if task is None:
                if answer.get("next_error"):
                    status, _, task, _ = self.until_answered(
                        "next", f"/api/v1/projects/{project_id}/next/", {}
                    )
                else:
                    return


def labeling_project(*, items: int):
    """A project of two labels, two annotations per item (no third asked), its annotators and
    their tokens."""
    vendor = VendorFactory()
    client = tenancy_services.organization_create(name=f"Faults {uuid.uuid4().hex[:6]}")
    project = tenancy_services.project_create(
        organization=client, name="Under faults", labels=["yes", "no"], overlap=2, max_overlap=2
    )
    tokens = []
    for n in range(ANNOTATORS):
        user = tenancy_services.member_create(
            organization=vendor, username=f"faults{n}-{uuid.uuid4().hex[:4]}",
            password="a-long-enough-passphrase-7", role="annotator",
        ).user  # fmt: skip
        tenancy_services.workforce_assign(project=project, user=user, role="annotator")
        tokens.append(TokenFactory(user=user).key)
    ItemFactory.create_bulk([{} for _ in range(items)], dataset=DatasetFactory(project=project))
    return project, tokens


def client_admin_token(organization) -> str:
    admin = tenancy_services.member_create(
        organization=organization, username=f"admin-{uuid.uuid4().hex[:6]}",
        password="a-long-enough-passphrase-7", role="client_admin",
    ).user  # fmt: skip
    return TokenFactory(user=admin).key


def upload(port: int, token: str, path: str, name: str, content: bytes):
    """A multipart upload of one file, as a client script sends it: (status, json)."""
    boundary = uuid.uuid4().hex
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        + content
        + f"\r\n--{boundary}--\r\n".encode()
    )
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request("POST", path, body, {
            "Authorization": f"Token {token}",
            "Content-Type": f"multipart/form-data; boundary={boundary}",
            "Idempotency-Key": str(uuid.uuid4()),
        })  # fmt: skip
        response = conn.getresponse()
        return response.status, json.loads(response.read())
    finally:
        conn.close()


def run_annotators(
    port: int, project, tokens, figures, stop, back, lose_every: int = 0
) -> list[threading.Thread]:
    threads = [
        threading.Thread(
            target=Annotator(port, token, figures, back, lose_every).work, args=(project.pk, stop)
        )
        for token in tokens
    ]
    for thread in threads:
        thread.start()
    return threads


def report(capsys, title: str, lines: dict) -> None:
    with capsys.disabled():
        print(f"\n--- {title}")
        for name, value in lines.items():
            print(f"    {name}: {value}")


def test_redis_stopped_for_10s_while_annotators_submit(tmp_path, capsys):
    """Every committed annotation is answered 201 while Redis is down (no 500, no 503);
    consensus decides every completed item once Redis is back, from the outbox."""
    project, tokens = labeling_project(items=800)
    other = tenancy_services.project_create(
        organization=project.organization, name="Uploaded meanwhile", labels=["yes", "no"]
    )
    admin = client_admin_token(project.organization)
    stack = Private(tmp_path, _url(connection.settings_dict))
    figures, stop, back = Figures(), threading.Event(), threading.Event()
    threads: list[threading.Thread] = []
    try:
        stack.service("start", "redis")
        stack.start_worker()
        stack.service("start", "web")
        threads = run_annotators(stack.web_port, project, tokens, figures, stop, back)
        wait_for(lambda: len(figures.submitted) >= 40, "the first submissions", 60)
        down_at = time.monotonic()
        stack.service("stop", "redis")
        # A client's import and export while the broker is down: accepted, queued for later.
        rows = b"".join(b'{"id": "r%d", "data": {"text": "row %d"}}\n' % (n, n) for n in range(3))
        imported = upload(stack.web_port, admin, f"/api/v1/projects/{other.pk}/imports/",
                          "rows.jsonl", rows)  # fmt: skip
        exported = Annotator(stack.web_port, admin, Figures(), back).request(
            f"/api/v1/projects/{project.pk}/exports/", {"format": "jsonl"}, str(uuid.uuid4())
        )
        jobs_answered_in = time.monotonic() - down_at
        time.sleep(max(0.0, REDIS_DOWN_SECONDS - jobs_answered_in))
        stack.service("start", "redis")
        up_at = time.monotonic()
        back.set()
        stop.set()  # from here only the outbox's sweep can start consensus
        # Celery's worker may exit when its broker goes away (kombu raises while it closes the
        # lost connection): a supervisor would start it again, as this does.
        worker_survived = stack.worker_alive()
        if not worker_survived:
            stack.start_worker()
        for thread in threads:
            thread.join(timeout=SUBMIT_SECONDS)
        waiting_at_return = OutboxMessage.objects.count()
        decided_in = wait_for(
            lambda: not _undecided(project) and not OutboxMessage.objects.exists(),
            "consensus on every completed item",
            DECIDE_SECONDS,
        )
        jobs_done_in = wait_for(
            lambda: (
                _finished(ImportJob, imported[1]["id"]) and _finished(Export, exported[2]["id"])
            ),
            "the import and the export queued while Redis was down",
            DECIDE_SECONDS,
        )
    finally:
        stop.set()
        stack.close()
    answered = {row["answer"]["annotation"]["id"] for row in figures.submitted
                if row["status"] == 201}  # fmt: skip
    stored = set(Annotation.objects.filter(project=project).values_list("id", flat=True))
    during = [row for row in figures.submitted if down_at <= row["at"] <= up_at]
    items = Item.objects.filter(project=project)
    report(capsys, "Redis stopped for 10 s while 6 annotators submit (gunicorn, 2 workers)", {
        "answers": dict(sorted(figures.answers.items(), key=str)),
        "submissions answered 201": len(answered),
        "of them while Redis was down": len(during),
        "annotations in the database": len(stored),
        "outbox messages waiting when Redis came back": waiting_at_return,
        "the Celery worker survived the outage (else started again)": worker_survived,
        "seconds until consensus decided every completed item": round(decided_in, 1),
        "import and export posted while Redis was down": (imported[0], exported[0]),
        "seconds those two requests took": round(jobs_answered_in, 2),
        "import rows / export rows once Redis was back": (
            ImportJob.objects.get(pk=imported[1]["id"]).imported,
            Export.objects.get(pk=exported[2]["id"]).rows,
        ),
        "seconds until both jobs had succeeded (after consensus)": round(jobs_done_in, 1),
        "items complete with a label / in review / open": (
            items.filter(status="complete", label__isnull=False).count(),
            items.filter(status="review").count(),
            items.filter(status="open").count(),
        ),
    })  # fmt: skip
    assert {status for (call, status) in figures.answers} <= {200, 201, 204}, figures.answers
    assert figures.retries == 0
    assert answered == stored and len(stored) == len(figures.submitted)
    assert during and all(row["status"] == 201 for row in during)
    assert items.filter(status__in=["complete", "review"]).count() > 0
    assert (imported[0], exported[0]) == (202, 202)
    assert ImportJob.objects.get(pk=imported[1]["id"]).imported == 3


def _finished(model, pk: int) -> bool:
    status = model.objects.filter(pk=pk).values_list("status", flat=True).first()
    assert status != "failed", f"{model.__name__} {pk} failed"
    return status == "succeeded"


def _undecided(project) -> bool:
    return Item.objects.filter(project=project, status="complete", label__isnull=True).exists()


def _url(settings_dict: dict, *, port=None, name=None) -> str:
    return (
        f"postgres://{settings_dict['USER']}@{settings_dict['HOST'] or '127.0.0.1'}:"
        f"{port or settings_dict['PORT']}/{name or settings_dict['NAME']}"
    )


def _pg_tool(name: str) -> str:
    found = shutil.which(name) or sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))[-1:]
    assert found, f"{name} not found"
    return found if isinstance(found, str) else found[0]


def copy_of_the_test_database(stack: Private, tmp: Path, project_id: int) -> None:
    """The test database, with this test's rows, restored into the private cluster."""
    source = connection.settings_dict
    dump = tmp / "test.dump"
    subprocess.run(
        [_pg_tool("pg_dump"), "-Fc", "-h", source["HOST"] or "127.0.0.1", "-p",
         str(source["PORT"]), "-U", source["USER"], "-f", str(dump), source["NAME"]],
        check=True, timeout=START_SECONDS,
    )  # fmt: skip
    # (its exit code counts warnings too, such as the public schema that exists already)
    subprocess.run(
        [_pg_tool("pg_restore"), "--no-owner", "--no-acl", "-h", "127.0.0.1", "-p",
         stack.env["PG_PORT"], "-U", source["USER"], "-d", "labelqa", str(dump)],
        timeout=START_SECONDS,
    )  # fmt: skip
    with psycopg.connect(f"postgresql://labelqa@127.0.0.1:{stack.env['PG_PORT']}/labelqa") as db:
        items = db.execute(
            f"SELECT count(*) FROM {Item._meta.db_table} WHERE project_id = %s", [project_id]
        ).fetchone()[0]
    assert items == Item.objects.filter(project_id=project_id).count() > 0


def test_postgresql_restarted_while_annotators_submit(tmp_path, capsys):
    """Requests during the restart answer 503 (never 500); every submission, sent again with
    its Idempotency-Key, ends with its first 201 (a replay when the first try had committed);
    no row twice; no 503 once the database is back (kept connections are reopened)."""
    project, tokens = labeling_project(items=300)
    pg_port = free_port()
    stack = Private(tmp_path, f"postgres://labelqa@127.0.0.1:{pg_port}/labelqa")
    stack.env.update(
        PG_PORT=str(pg_port), LQA_PGDATA=f"/tmp/lqa-answers-{pg_port}", LQA_PG_FAST="1",
        LQA_PG_SHARED_BUFFERS="64MB",
    )  # fmt: skip
    figures, stop, back = Figures(), threading.Event(), threading.Event()
    private = None
    try:
        stack.service("start", "postgres")
        copy_of_the_test_database(stack, tmp_path, project.pk)
        stack.service("start", "redis")
        stack.service("start", "web")
        threads = run_annotators(
            stack.web_port, project, tokens, figures, stop, back, lose_every=LOSE_EVERY
        )
        wait_for(lambda: len(figures.submitted) >= 40, "the first submissions", 60)
        before = len(figures.submitted)
        restart = stack.service("stop", "postgres") + stack.service("start", "postgres")
        back.set()
        for thread in threads:
            thread.join(timeout=SUBMIT_SECONDS * 3)
        replays = [_replay(stack.web_port, row) for row in figures.submitted[::10]]
        private = _private_rows(pg_port, project.pk)
    finally:
        stop.set()
        stack.close()
        shutil.rmtree(f"/tmp/lqa-answers-{pg_port}", ignore_errors=True)
    retried = [row for row in figures.submitted if row["tries"] > 1]
    answered = [row["answer"]["annotation"]["id"] for row in figures.submitted
                if row["status"] == 201]  # fmt: skip
    report(capsys, "PostgreSQL restarted while 6 annotators submit (gunicorn, 2 workers)", {
        "answers": dict(sorted(figures.answers.items(), key=str)),
        "seconds the restart took (stop + start)": round(restart, 1),
        "submissions before the restart / in all": (before, len(figures.submitted)),
        "submissions sent more than once": len(retried),
        "retries (requests sent again after a 503 or no answer)": figures.retries,
        f"first answers lost on the way on purpose (1 submission in {LOSE_EVERY})": figures.lost,
        "submissions answered by a replay of their committed first try": figures.replayed,
        "503 after the database was back": figures.late_503,
        "annotations in the database / distinct (item, annotator)": private[:2],
        "idempotency keys kept": private[2],
    })  # fmt: skip
    assert not [status for (call, status) in figures.answers if status and status >= 500
                and status != 503]  # fmt: skip
    assert figures.answers[("submit", 503)] + figures.answers[("next", 503)] > 0
    assert all(row["status"] == 201 for row in figures.submitted), [
        row for row in figures.submitted if row["status"] != 201
    ]
    assert len(set(answered)) == len(answered) == len(figures.submitted)
    assert private[0] == private[1] == len(answered)  # every answered row, none twice
    assert set(answered) == private[3]
    assert private[2] >= len(answered)
    assert all(same for same in replays)
    assert figures.late_503 == 0
    # a lost answer's retry got the first answer (unless the first met the restart: a 503)
    assert figures.lost > 0 and figures.replayed > 0


def _replay(port: int, row) -> bool:
    """The same submission sent once more: the same answer, marked as a replay."""
    status, headers, data = Annotator(port, row["token"], Figures(), threading.Event()).request(
        f"/api/v1/items/{row['item']}/annotations/", row["body"], row["key"]
    )
    return headers.get("Idempotent-Replayed") == "true" and (status, data) == (
        row["status"],
        row["answer"],
    )


def _private_rows(port: int, project_id: int) -> tuple:
    """(annotations, distinct (item, annotator), idempotency keys, annotation ids) of the
    project in the private database."""
    with psycopg.connect(f"postgresql://labelqa@127.0.0.1:{port}/labelqa") as conn:
        rows = conn.execute(
            f"SELECT id, item_id, annotator_id FROM {Annotation._meta.db_table} "
            "WHERE project_id = %s AND source = 'human'",
            [project_id],
        ).fetchall()
        keys = conn.execute(f"SELECT count(*) FROM {IdempotencyKey._meta.db_table}").fetchone()[0]
    return len(rows), len({(item, who) for _, item, who in rows}), keys, {r[0] for r in rows}
