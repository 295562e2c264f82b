"""Writes of labeling data."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction

from tenancy.models import Project

from .models import Dataset, Item

# 2,000 rows of ~1 KB each: a few MB per batch in memory, one round trip each.
ITEM_BATCH_SIZE = 2_000


@transaction.atomic
def dataset_create_with_items(
    *, project: Project, name: str, rows: Iterable[dict], created_by=None
) -> Dataset:
    """A dataset and its items from already-validated rows ({id, data, gold?}); used by the demo
    and the tests until the streaming importer (labeling/imports) lands."""
    dataset = Dataset.objects.create(
        organization_id=project.organization_id, project=project, name=name, created_by=created_by
    )
    batch: list[Item] = []
    for row in rows:
        batch.append(
            Item(
                organization_id=project.organization_id,
                project=project,
                dataset=dataset,
                external_id=str(row["id"]),
                data=row["data"],
                gold_label=row.get("gold"),
                needed=project.overlap,
            )
        )
        if len(batch) >= ITEM_BATCH_SIZE:
            Item.objects.bulk_create(batch)
            batch.clear()
    Item.objects.bulk_create(batch)
    return dataset
