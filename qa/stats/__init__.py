"""Pure numerical algorithms of the QA engine: agreement, ground truth, acceptance sampling.

Everything here takes numpy arrays (never querysets) so it is testable without a database and
fast at scale. An annotation set is a group of parallel arrays of equal length n:

- ``items``: int item index in 0..n_items-1,
- ``annotators``: int annotator index in 0..n_annotators-1,
- ``labels``: int label index in 0..n_labels-1 (classification), or, for multilabel projects,
  a bool matrix [n, n_labels] whose row is the set of labels chosen.

At most one annotation per (item, annotator). Input already ordered by item (``ORDER BY
item_id``) skips an argsort in every function; any order is accepted.

Figures that cannot be computed come back as ``None`` (scalars) or NaN (per-label and
per-annotator arrays) together with a reason, never as a made-up number.
"""
