"""Export benchmark: 1,000,000 completed items (3 annotations each) exported from PostgreSQL.

    bash bench/run.sh export                  # throwaway PostgreSQL, 1M items
    python bench/export_bench.py --items N    # against the DATABASE_URL you give it

The project is filled by COPY (not timed) as in bench/qa_bench.py, each item given a final
label; the agreement report the certificate quotes is computed first (not timed: a QA lead's
look at the report caches it, and an export only reads it). Then each export runs through
`exports.services.export_run` in a fresh process (its peak RSS is the exporter's): JSONL with the
annotations (API.md's row), JSONL without them, CSV and Label Studio JSON. The file's SHA-256
is checked against the certificate.
"""

import argparse
import hashlib
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402

from labeling.models import Item  # noqa: E402
from tenancy.models import Project  # noqa: E402

RUNS = [
    ("jsonl", True),
    ("jsonl", False),
    ("csv", True),
    ("label_studio", True),
]


def peak_rss_mb() -> float:
    """This process's own peak RSS (VmHWM). Not getrusage's ru_maxrss: Linux carries that
    over fork and exec, so a step's figure would include the parent that filled the data."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def prepare(items: int) -> int:
    from qa_bench import fill

    from qa import reports
    from qa.data import Filters

    project_id = fill(items, 5, seed=3)
    t0 = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {Item._meta.db_table} SET label = to_jsonb('label-' || (id %% 5)), "
            "confidence = 0.5 + (id %% 50) / 100.0, labeled_at = completed_at "
            "WHERE project_id = %s",
            [project_id],
        )
        cursor.execute(f"VACUUM ANALYZE {Item._meta.db_table}")
    project = Project.objects.get(pk=project_id)
    report = reports.report_refresh(project=project, filters=Filters())
    print(
        f"  final labels set, agreement report cached ({report.seconds:.1f} s) in "
        f"{time.perf_counter() - t0:.1f} s (not timed below)",
        flush=True,
    )
    return project_id


def run_one(project_id: int, fmt: str, with_annotations: bool) -> dict:
    from django.contrib.auth import get_user_model

    from exports import services
    from exports.models import Export

    project = Project.objects.get(pk=project_id)
    user = get_user_model().objects.filter(is_superuser=True).first()
    export = Export.objects.create(
        organization_id=project.organization_id,
        project=project,
        format=fmt,
        filters={"status": ["complete"]},
        include_annotations=with_annotations,
        created_by=user,
    )
    t0 = time.perf_counter()
    export = services.export_run(export_id=export.pk)
    seconds = time.perf_counter() - t0
    digest = hashlib.sha256()
    with export.file.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return {
        "seconds": round(seconds, 2),
        "peak_rss_mb": round(peak_rss_mb()),
        "rows": export.rows,
        "mb": round(export.size_bytes / 1e6, 1),
        "sha256_matches": digest.hexdigest() == export.certificate["sha256"],
        "alpha_in_certificate": export.certificate["krippendorff_alpha"],
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--run", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run:
        project_id, fmt, annotations = args.run
        print(json.dumps(run_one(int(project_id), fmt, annotations == "1")))
        return
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    print(f"Export benchmark: {args.items:,} completed items x 3 annotations")
    print(f"  cores: {os.cpu_count()}, load: {os.getloadavg()[0]:.2f}")
    project_id = prepare(args.items)
    for fmt, with_annotations in RUNS:
        out = subprocess.run(
            [
                sys.executable,
                __file__,
                "--run",
                str(project_id),
                fmt,
                "1" if with_annotations else "0",
            ],
            check=True,
            capture_output=True,
            text=True,
        )
        result = json.loads(out.stdout.strip().splitlines()[-1])
        name = f"{fmt}{' + annotations' if with_annotations else ''}"
        print(f"  {name:<26} {result}", flush=True)
    print("target: JSONL of 1M items in 20 s or less, peak RSS 300 MB or less")
    print(f"reproduce: bash bench/run.sh export {args.items}")


if __name__ == "__main__":
    main()
