"""QA benchmark: the full agreement report plus Dawid-Skene consensus over 1,000,000 items x 3
annotations in PostgreSQL, end to end (the database read included), once per label count.

    bash bench/run.sh qa                      # throwaway PostgreSQL; 1M items, 5 and 20 labels
    python bench/qa_bench.py --items N --labels 5 20   # against the DATABASE_URL you give it

Per label count: a project is filled with N completed items and 3 annotations each by 200
external annotators of known reliability (COPY, not timed), then, each in a fresh process so
that each peak RSS is its own:
  report  qa.reports.report_compute: the read (binary COPY) and every figure of the agreement
          API (alpha with a 1,000-replicate bootstrap interval, Fleiss, pairwise Cohen, per
          label, per annotator, confusion, alpha per day) and Dawid-Skene over all items;
  fit     qa.consensus.truth_model_fit: the read, Dawid-Skene, and writing every item's label
          and confidence back (1M UPDATEd rows).
The chunked coincidence matrix is checked against the `krippendorff` package on a 100,000-item
sample (the package needs ~9 GiB at 1M units x 20 labels).
"""

import argparse
import io
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

import numpy as np  # noqa: E402
from django.db import connection  # noqa: E402

from labeling.models import Annotation, Annotator, AnnotatorKind, Dataset, Item  # noqa: E402
from tenancy import services  # noqa: E402
from tenancy.models import Organization, Project  # noqa: E402

ANNOTATORS = 200
PER_ITEM = 3
# Rows per COPY statement while filling (~60 MB of text per chunk of annotations).
FILL_CHUNK = 250_000
STAMP = "2026-11-20 12:00:00+00"


def peak_rss_mb() -> float:
    """This process's own peak RSS (VmHWM). Not getrusage's ru_maxrss: Linux carries that
    over fork and exec, so a step's figure would include the parent that filled the data."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def crowd(n_items: int, n_labels: int, seed: int):
    """Truth, 3 distinct annotators per item, and their labels: accuracies 0.55-0.95, one in
    ten a spammer answering at random."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, n_labels, n_items)
    accuracy = rng.uniform(0.55, 0.95, ANNOTATORS)
    spammer = rng.random(ANNOTATORS) < 0.1
    who = rng.integers(0, ANNOTATORS, (n_items, PER_ITEM))
    while True:  # three different people per item
        clash = (who[:, 0] == who[:, 1]) | (who[:, 0] == who[:, 2]) | (who[:, 1] == who[:, 2])
        if not clash.any():
            break
        who[clash] = rng.integers(0, ANNOTATORS, (int(clash.sum()), PER_ITEM))
    who = who.ravel()
    items = np.repeat(np.arange(n_items), PER_ITEM)
    right = (rng.random(who.size) < accuracy[who]) & ~spammer[who]
    noise = rng.integers(0, n_labels, who.size)
    labels = np.where(right, truth[items], noise)
    return items, who, labels


def fill(n_items: int, n_labels: int, seed: int) -> int:
    """A project of n_items complete items with their annotations; returns its id."""
    org, _ = Organization.objects.get_or_create(
        name="QA bench", defaults={"slug": "qa-bench", "kind": "client"}
    )
    project = services.project_create(
        organization=org,
        name=f"QA bench {n_labels} labels {time.time_ns()}",
        labels=[f"label-{j}" for j in range(n_labels)],
        overlap=PER_ITEM,
        consensus="dawid_skene",
    )
    dataset = Dataset.objects.create(organization=org, project=project, name="bench")
    people = Annotator.objects.bulk_create(
        [
            Annotator(organization=org, kind=AnnotatorKind.EXTERNAL, name=f"p{project.pk}-{i}")
            for i in range(ANNOTATORS)
        ]
    )
    person_ids = np.array([p.pk for p in people])
    items, who, labels = crowd(n_items, n_labels, seed)
    t0 = time.perf_counter()
    with connection.cursor() as cursor:
        columns = (
            "organization_id, project_id, dataset_id, external_id, data, status, needed, done, "
            "priority, created_at, completed_at"
        )
        with cursor.copy(f"COPY {Item._meta.db_table} ({columns}) FROM STDIN") as copy:
            for start in range(0, n_items, FILL_CHUNK):
                lines = [
                    f"{org.pk}\t{project.pk}\t{dataset.pk}\tb-{n}\t"
                    f'{{"text": "item {n}"}}\tcomplete\t3\t3\t0\t{STAMP}\t{STAMP}\n'
                    for n in range(start, min(start + FILL_CHUNK, n_items))
                ]
                copy.write("".join(lines))
        cursor.execute(
            f"SELECT id FROM {Item._meta.db_table} WHERE dataset_id = %s ORDER BY id", [dataset.pk]
        )
        item_ids = np.array([row[0] for row in cursor.fetchall()])
        names = [json.dumps(f"label-{j}") for j in range(n_labels)]
        columns = "organization_id, project_id, item_id, annotator_id, label, source, created_at"
        days = np.random.default_rng(seed).integers(0, 28, items.size)
        with cursor.copy(f"COPY {Annotation._meta.db_table} ({columns}) FROM STDIN") as copy:
            for start in range(0, items.size, FILL_CHUNK):
                stop = min(start + FILL_CHUNK, items.size)
                buffer = io.StringIO()
                for i, a, lab, day in zip(
                    item_ids[items[start:stop]].tolist(),
                    person_ids[who[start:stop]].tolist(),
                    labels[start:stop].tolist(),
                    days[start:stop].tolist(),
                    strict=True,
                ):
                    buffer.write(
                        f"{org.pk}\t{project.pk}\t{i}\t{a}\t{names[lab]}\thuman\t"
                        f"2026-11-{1 + day:02d} 12:00:00+00\n"
                    )
                copy.write(buffer.getvalue())
        cursor.execute(f"ANALYZE {Item._meta.db_table}")
        cursor.execute(f"ANALYZE {Annotation._meta.db_table}")
    print(
        f"  filled {n_items:,} items, {items.size:,} annotations, {n_labels} labels "
        f"in {time.perf_counter() - t0:.1f} s (not timed below)",
        flush=True,
    )
    return project.pk


def run_step(step: str, project_id: int) -> dict:
    """One timed step in this (fresh) process."""
    from qa import consensus, reports
    from qa.data import Filters

    project = Project.objects.get(pk=project_id)
    t0 = time.perf_counter()
    if step == "report":
        result = reports.report_compute(project=project, filters=Filters())
        seconds = time.perf_counter() - t0
        return {
            "seconds": round(seconds, 2),
            "peak_rss_mb": round(peak_rss_mb()),
            "alpha": result["krippendorff_alpha"],
            "alpha_ci": result["krippendorff_alpha_ci"],
            "fleiss": result["fleiss_kappa"],
            "cohen": result["mean_pairwise_cohen_kappa"],
            "ds_iterations": result["dawid_skene"]["iterations"],
            "ds_converged": result["dawid_skene"]["converged"],
        }
    if step == "fit":
        model = consensus.truth_model_fit(project=project, write=True)
        seconds = time.perf_counter() - t0
        labeled = Item.objects.filter(project=project, label__isnull=False).count()
        return {
            "seconds": round(seconds, 2),
            "peak_rss_mb": round(peak_rss_mb()),
            "iterations": model.iterations,
            "converged": model.converged,
            "items_labeled": labeled,
        }
    if step == "check":
        import krippendorff

        from qa.data import annotation_set
        from qa.stats import agreement

        s = annotation_set(project=project)
        keep = s.items < 100_000
        items, annotators, codes = s.items[keep], s.annotators[keep], s.codes[keep]
        ours = agreement.krippendorff_alpha_nominal(items, codes, len(project.labels))
        matrix = np.full((len(s.annotator_ids), 100_000), np.nan)
        matrix[annotators, items] = codes
        theirs = krippendorff.alpha(reliability_data=matrix, level_of_measurement="nominal")
        return {
            "ours": ours,
            "krippendorff_package": float(theirs),
            "items": int(len(np.unique(items))),
        }
    raise ValueError(step)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--labels", type=int, nargs="+", default=[5, 20])
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--step", help=argparse.SUPPRESS)
    parser.add_argument("--project", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.step:
        print(json.dumps(run_step(args.step, args.project)))
        return
    print(f"QA benchmark: {args.items:,} items x {PER_ITEM} annotations, {ANNOTATORS} annotators")
    print(f"  cores: {os.cpu_count()}, load: {os.getloadavg()[0]:.2f}")
    results = {}
    for n_labels in args.labels:
        project_id = fill(args.items, n_labels, args.seed + n_labels)
        for step in ("report", "fit", "check"):
            out = subprocess.run(
                [sys.executable, __file__, "--step", step, "--project", str(project_id)],
                check=True,
                capture_output=True,
                text=True,
            )
            result = json.loads(out.stdout.strip().splitlines()[-1])
            results[(n_labels, step)] = result
            print(f"  {n_labels:>2} labels  {step:<6} {result}", flush=True)
    print("\nsummary (target: 20 s or less each, peak RSS 1.5 GB or less)")
    for n_labels in args.labels:
        report, fit = results[(n_labels, "report")], results[(n_labels, "fit")]
        print(
            f"  {n_labels:>2} labels: report+Dawid-Skene {report['seconds']:.1f} s "
            f"(peak {report['peak_rss_mb']} MB); fit+write-back {fit['seconds']:.1f} s "
            f"(peak {fit['peak_rss_mb']} MB)"
        )
    print(f"reproduce: bash bench/run.sh qa {args.items}")


if __name__ == "__main__":
    main()
