"""Import benchmark: N synthetic JSONL rows into PostgreSQL through the import task.

    bash bench/run.sh import 1000000        # starts a throwaway PostgreSQL, runs this, stops it
    python bench/import_bench.py --rows N   # against the DATABASE_URL you give it

Each row carries ~200 bytes of text; every 10th has a gold label, every 4th a pre-label. The
import runs through `labeling.tasks.import_run` (the task the API queues), in this process, so
the peak RSS printed is that of a worker doing the import.
"""

import argparse
import os
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

import orjson  # noqa: E402
from django.core.files import File  # noqa: E402
from django.db import connection  # noqa: E402

from labeling.imports.services import import_job_create  # noqa: E402
from labeling.models import Item  # noqa: E402
from labeling.tasks import import_run  # noqa: E402
from tenancy import services  # noqa: E402

WORDS = (
    "delivery quality price support battery screen refund broken excellent slow fast "
    "recommend disappointed packaging size color works stopped daily love hate okay"
).split()
LABELS = ["positive", "negative", "neutral", "mixed", "spam"]


def write_rows(path: Path, count: int, seed: int = 7) -> int:
    rng = random.Random(seed)
    with open(path, "wb") as out:
        for n in range(count):
            text = " ".join(rng.choices(WORDS, k=32))[:200]
            row = {"id": f"bench-{n}", "data": {"text": text, "source": "bench"}}
            if n % 10 == 0:
                row["gold"] = rng.choice(LABELS)
            if n % 4 == 0:
                row["prelabel"] = {
                    "label": rng.choice(LABELS),
                    "confidence": round(rng.random(), 3),
                }
            out.write(orjson.dumps(row) + b"\n")
    return path.stat().st_size


def backend_cpu_seconds() -> float | None:
    """CPU time of this connection's PostgreSQL backend, when the server runs on this machine."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()

    organization = services.organization_create(name=f"Bench client {time.time_ns()}")
    project = services.project_create(organization=organization, name="bench", labels=LABELS)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.jsonl"
        t0 = time.perf_counter()
        size = write_rows(path, args.rows)
        took = time.perf_counter() - t0
        print(f"generated {args.rows:,} rows, {size / 1e6:,.1f} MB in {took:.1f} s")
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        server_cpu = backend_cpu_seconds()
        usage = resource.getrusage(resource.RUSAGE_SELF)
        client_cpu = usage.ru_utime + usage.ru_stime
        t0 = time.perf_counter()
        with open(path, "rb") as handle:
            # Stores the upload and queues the task, which (no broker here) runs right away,
            # after the job's row commits, exactly as the API's request would trigger it.
            job = import_job_create(project=project, upload=File(handle, name="bench.jsonl"))
        end_to_end = time.perf_counter() - t0
        usage = resource.getrusage(resource.RUSAGE_SELF)
        client_cpu = usage.ru_utime + usage.ru_stime - client_cpu
        server_cpu = backend_cpu_seconds() - server_cpu if server_cpu is not None else None
    status = import_run.apply(args=(job.pk, organization.pk)).get()  # a redelivery: a no-op
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    job.refresh_from_db()
    seconds = (job.finished_at - job.started_at).total_seconds()
    stored = Item.objects.filter(project=project).count()
    print(f"status {status}: {job.message}")
    print(f"items in the database: {stored:,}")
    print(f"import job (started -> finished): {seconds:.2f} s, {args.rows / seconds:,.0f} rows/s")
    print(f"end to end (store the upload + import): {end_to_end:.2f} s")
    server = f"{server_cpu:.1f} s" if server_cpu is not None else "n/a (remote server)"
    print(f"CPU: PostgreSQL backend {server}, this process {client_cpu:.1f} s (2 threads)")
    print(f"peak RSS: {peak:,.0f} MB (before the import: {rss_before:,.0f} MB)")
    print(f"reproduce: bash bench/run.sh import {args.rows}")
    if status != "succeeded" or stored != args.rows:
        sys.exit(1)


if __name__ == "__main__":
    main()
