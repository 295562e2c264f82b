"""QA math benchmark: the whole agreement report and Dawid-Skene on a synthetic crowd in memory.

    flock /tmp/lqa-bench.lock .venv/bin/python bench/qa_math_bench.py
    flock /tmp/lqa-bench.lock .venv/bin/python bench/qa_math_bench.py --items 200000 --labels 5

1,000,000 items x 3 annotations by 200 annotators (20 spammers, 20 biased), for 5 and for 20
labels. Prints the wall and CPU seconds (CPU includes BLAS threads; on a shared machine wall
time also counts waiting for a core) and the peak RSS of each step (the high-water mark is
reset before each step, so a step's figure is the resident data, synthetic crowd included,
plus that step's own temporaries). No database: the lead adds the read.
Then the chunked alpha is checked against the `krippendorff` package on a 100,000-item
subsample (the package builds dense annotator x item arrays, too big at 1M items).
"""

import argparse
import os
import resource
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from qa.stats import agreement, truth  # noqa: E402
from qa.stats.simulate import simulate_crowd  # noqa: E402


def peak_rss_mb() -> float:
    """Peak RSS since the last reset_peak() (VmHWM), else of the whole process."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux


def reset_peak() -> None:
    """Reset the peak RSS to the current RSS (Linux >= 4.0), so each step reports its own."""
    try:
        with open("/proc/self/clear_refs", "w") as clear:
            clear.write("5")
    except OSError:
        pass


class Timer:
    def __init__(self) -> None:
        self.rows: list[tuple[str, float, float]] = []

    def __call__(self, name: str, function, *args, **kwargs):
        reset_peak()
        start, cpu_start = time.perf_counter(), time.process_time()
        result = function(*args, **kwargs)
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu_start
        peak = peak_rss_mb()
        self.rows.append((name, seconds, peak))
        print(
            f"  {name:<30} {seconds:6.2f} s wall {cpu:6.2f} s cpu   peak RSS {peak:5.0f} MB",
            flush=True,
        )
        return result


def run(n_items: int, n_labels: int, n_annotators: int, n_boot: int, seed: int) -> None:
    print(f"\n{n_items:,} items x 3, {n_annotators} annotators, {n_labels} labels")
    timer = Timer()
    crowd = timer(
        "synthetic crowd (not QA math)",
        simulate_crowd,
        n_items,
        n_labels,
        n_annotators,
        per_item=(3, 3),
        spammers=n_annotators // 10,
        biased=n_annotators // 10,
        seed=seed,
    )
    items, annotators, labels = crowd.items, crowd.annotators, crowd.labels
    alpha = timer(
        "krippendorff alpha", agreement.krippendorff_alpha_nominal, items, labels, n_labels
    )
    interval = timer(
        f"bootstrap CI ({n_boot} reps)",
        agreement.bootstrap_alpha_ci,
        items,
        labels,
        n_labels,
        n_boot=n_boot,
        seed=seed,
    )
    fleiss = timer("fleiss kappa", agreement.fleiss_kappa, items, labels, n_labels)
    cohen = timer(
        "pairwise cohen kappa",
        agreement.cohen_kappa_pairwise_mean,
        items,
        annotators,
        labels,
        n_labels,
    )
    per_label = timer("per-label agreement", agreement.per_label_agreement, items, labels, n_labels)
    majority, _, _ = timer("majority vote", truth.majority_vote, items, labels, n_items, n_labels)
    timer(
        "per-annotator",
        agreement.per_annotator,
        items,
        annotators,
        labels,
        n_annotators,
        n_labels,
        consensus=majority,
        gold=np.where(np.arange(n_items) % 10 == 0, crowd.truth, -1),
        durations=crowd.durations,
    )
    timer("confusion matrix", agreement.confusion_matrix, items, labels, majority, n_labels)
    ds = timer(
        "dawid-skene",
        truth.dawid_skene,
        items,
        annotators,
        labels,
        n_items,
        n_annotators,
        n_labels,
    )
    math = [row for row in timer.rows if not row[0].startswith("synthetic")]
    math_seconds = sum(seconds for _, seconds, _ in math)
    math_peak = max(peak for _, _, peak in math)
    print(f"  {'QA math total':<30} {math_seconds:6.2f} s wall{'':16}peak RSS {math_peak:5.0f} MB")
    print(
        f"  alpha {alpha:.4f}, 95% CI [{interval.low:.4f}, {interval.high:.4f}] "
        f"({interval.patterns} unit patterns), fleiss {fleiss.kappa:.4f} on "
        f"{fleiss.items_used:,} items, mean cohen {cohen.mean:.4f} over {cohen.pairs_used:,} "
        f"pairs, per-label alpha {np.nanmin(per_label.alpha):.3f}..{np.nanmax(per_label.alpha):.3f}"
    )
    mv_accuracy = float(np.mean(majority == crowd.truth))
    ds_accuracy = float(np.mean(ds.labels == crowd.truth))
    print(
        f"  accuracy vs truth: majority {mv_accuracy:.4f} (ties count wrong), dawid-skene "
        f"{ds_accuracy:.4f} after {ds.iterations} iterations (converged: {ds.converged})"
    )
    reset_peak()
    check_against_package(crowd, n_labels)


def check_against_package(crowd, n_labels: int, n_sub: int = 100_000) -> None:
    import krippendorff

    keep = crowd.items < n_sub
    items, annotators, labels = crowd.items[keep], crowd.annotators[keep], crowd.labels[keep]
    start = time.perf_counter()
    ours = agreement.krippendorff_alpha_nominal(items, labels, n_labels)
    ours_seconds = time.perf_counter() - start
    data = np.full((crowd.n_annotators, n_sub), np.nan)
    data[annotators, items] = labels
    start = time.perf_counter()
    theirs = float(krippendorff.alpha(reliability_data=data, level_of_measurement="nominal"))
    theirs_seconds = time.perf_counter() - start
    print(
        f"  vs krippendorff package on {n_sub:,} items: ours {ours:.12f} ({ours_seconds:.3f} s), "
        f"package {theirs:.12f} ({theirs_seconds:.2f} s), |diff| {abs(ours - theirs):.1e}, "
        f"peak RSS {peak_rss_mb():.0f} MB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--annotators", type=int, default=200)
    parser.add_argument("--labels", type=int, nargs="+", default=[5, 20])
    parser.add_argument("--boot", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    print(f"load average at start: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    print("reproduce: flock /tmp/lqa-bench.lock .venv/bin/python bench/qa_math_bench.py", end="")
    print(f" --items {args.items} --annotators {args.annotators} --labels", *args.labels, end="")
    print(f" --boot {args.boot} --seed {args.seed}")
    for n_labels in args.labels:
        run(args.items, n_labels, args.annotators, args.boot, args.seed)
    whole = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(f"\npeak RSS of the whole process (package checks included): {whole:.0f} MB")


if __name__ == "__main__":
    main()
