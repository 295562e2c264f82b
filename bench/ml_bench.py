"""Model-layer benchmark: the pre-labeling loop on real digits, text speed, pre-training gain.

    flock /tmp/lqa-bench.lock .venv/bin/python bench/ml_bench.py            # ~3-4 minutes
    flock /tmp/lqa-bench.lock .venv/bin/python bench/ml_bench.py --quick    # smaller, ~1 minute

No database, no download: scikit-learn's bundled 8x8 digits and the seeded synthetic reviews
of prelabels/ml/synthetic.py.
(a) digits: 100 human labels (a seeded choice of 1,797), the loop trains a version
    (cross-validated, calibrated), optionally self-trains on its confident pseudo-labels of
    the other 1,697 digits, and pre-labels them; their true labels are used only to score.
(b) inference items/s on 200,000 synthetic reviews through predict_chunks (features, model,
    calibration) for the scikit-learn and the torch text models.
(c) training time on 50,000 labeled reviews for each (the fit alone, and train_version with its
    held-out split and calibration).
(d) accuracy at 50/100/200 labels: torch model from scratch vs fine-tuned from an encoder
    pre-trained on 50,000 unlabeled reviews, beside the linear model.
The 2 cores are shared: run it under the lock, and read the load average printed first.
"""

import argparse
import os
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
import torch  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402

from prelabels.ml import (  # noqa: E402
    metrics,
    predict,
    pretraining,
    synthetic,
    text_sklearn,
    text_torch,
    training,
)
from prelabels.ml.base import use_torch_threads  # noqa: E402

THRESHOLD = 0.9


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def score(model, inputs, labels) -> dict:
    predicted, confidence = model.calibrator.top(model.logits(inputs))
    correct = predicted == labels
    cover = metrics.coverage(confidence, correct, THRESHOLD)
    return {
        "accuracy": float(correct.mean()),
        "ece": metrics.expected_calibration_error(confidence, correct),
        "coverage": cover["share"],
        "coverage_accuracy": cover["accuracy"],
    }


def line(name: str, numbers: dict) -> str:
    cover = numbers["coverage_accuracy"]
    return (
        f"  {name:<38} accuracy {numbers['accuracy']:.3f}  ECE {numbers['ece']:.3f}  "
        f"coverage@{THRESHOLD} {numbers['coverage']:.3f} "
        f"(accuracy there {cover if cover is None else f'{cover:.3f}'})"
    )


def digits_loop(rounds: int) -> None:
    print("\n(a) digits: 100 human labels, pre-labels for the other 1,697")
    data = load_digits()
    chosen = np.random.default_rng(0).choice(len(data.target), size=100, replace=False)
    rest = np.setdiff1d(np.arange(len(data.target)), chosen)
    images = list(data.images)
    human = [images[i] for i in chosen]
    unlabeled = [images[i] for i in rest]
    for self_training in (0, rounds):
        started = time.perf_counter()
        result = training.train_version(
            "image", human, data.target[chosen], 10, 0, THRESHOLD,
            unlabeled=unlabeled, self_training_rounds=self_training,
        )  # fmt: skip
        elapsed = time.perf_counter() - started
        m = result.metrics
        selection = ", ".join(f"{k} {v:.3f}" for k, v in m["selection"].items())
        print(
            f"  self-training rounds {self_training}: chose {m['kind']} (3-fold macro-F1: "
            f"{selection}); {m['evaluation']} accuracy on the 100: {m['accuracy']:.3f}, "
            f"temperature {result.calibrator.temperature:.2f}; {elapsed:.1f} s"
        )
        for entry in result.rounds:
            print(f"    round {entry['round']}: {entry['n_pseudo']} pseudo-labels (conf >= 0.9)")
        print(
            line(
                "pre-labels of the 1,697 (true labels)",
                score(result.model, unlabeled, data.target[rest]),
            )
        )


def timed(function, *args, **kwargs):
    started = time.perf_counter()
    value = function(*args, **kwargs)
    return value, time.perf_counter() - started


def text_speed(train_count: int, infer_count: int) -> None:
    print(f"\n(b, c) text: train on {train_count:,} labeled reviews, infer {infer_count:,}")
    (texts, labels), generate_s = timed(synthetic.reviews, train_count, seed=1)
    (infer_texts, infer_labels), more_s = timed(synthetic.reviews, infer_count, seed=3)
    print(f"  generated the corpora in {generate_s + more_s:.1f} s")
    labels, infer_labels = np.array(labels), np.array(infer_labels)
    names = synthetic.LABEL_NAMES
    for module in (text_sklearn, text_torch):
        model, fit_s = timed(module.train, texts, labels, label_names=names)
        kind = model.kind
        version, version_s = timed(
            training.train_version, kind, texts, labels, 3, 0, THRESHOLD, label_names=names
        )
        print(
            f"  {kind:<13} fit on {train_count:,}: {fit_s:5.1f} s (target <= 60 s); "
            f"train_version (fit on 80%, calibrate, measure on 20%): {version_s:5.1f} s, "
            f"held-out accuracy {version.metrics['accuracy']:.3f}, ECE {version.metrics['ece']:.3f}"
        )
        model = version.model
        started = time.perf_counter()
        predicted = np.concatenate([c.labels for c in predict.predict_chunks(model, infer_texts)])
        infer_s = time.perf_counter() - started
        print(
            f"  {kind:<13} predict_chunks on {infer_count:,}: {infer_count / infer_s:,.0f} "
            f"items/s (target >= 20,000); accuracy {(predicted == infer_labels).mean():.3f} "
            f"(labels carry 3% noise)"
        )


def pretraining_gain(unlabeled_count: int, repeats: int) -> None:
    print(f"\n(d) pre-training on {unlabeled_count:,} unlabeled reviews: accuracy at few labels")
    unlabeled, _ = synthetic.reviews(unlabeled_count, seed=2)
    pool, pool_labels = synthetic.reviews(5000, seed=5)
    test, test_labels = synthetic.reviews(5000, seed=4)
    encoder, pretrain_s = timed(text_torch.pretrain, unlabeled, seed=0)
    print(f"  masked-token pre-training: {pretrain_s:.1f} s ({text_torch.PRETRAIN_EPOCHS} epochs)")
    rows = pretraining.pretraining_gain(
        unlabeled, pool, pool_labels, test, test_labels,
        label_names=synthetic.LABEL_NAMES, repeats=repeats, encoder=encoder,
    )  # fmt: skip
    print(f"  {'labels':>6}  {'plain torch':>11}  {'pre-trained':>11}  {'gain':>6}  {'linear':>6}")
    for row in rows:
        print(
            f"  {row['labels']:>6}  {row['plain_accuracy']:>11.3f}  "
            f"{row['pretrained_accuracy']:>11.3f}  {row['gain']:>+6.3f}  "
            f"{row['sklearn_accuracy']:>6.3f}"
        )
    print(f"  (mean of {repeats} seeded label subsets; 5,000 held-out reviews, 3% label noise)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
    args = parser.parse_args()
    use_torch_threads()
    command = "flock /tmp/lqa-bench.lock .venv/bin/python bench/ml_bench.py" + (
        " --quick" if args.quick else ""
    )
    print(f"$ {command}")
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} torch thread(s) "
        f"(LQA_TORCH_THREADS), {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}"
    )
    started = time.perf_counter()
    digits_loop(rounds=2)
    if args.quick:
        text_speed(10_000, 40_000)
        pretraining_gain(10_000, repeats=1)
    else:
        text_speed(50_000, 200_000)
        pretraining_gain(50_000, repeats=3)
    print(f"\ntotal {time.perf_counter() - started:.0f} s; peak RSS {peak_rss_mb():.0f} MB")


if __name__ == "__main__":
    main()
