"""The labeling endpoints of API.md: next, annotations (201/400/403/404/409), skip, undo."""

from labeling.models import Annotation, Lease
from tenancy.models import Role

from ..factories import ItemFactory, LeaseFactory


def test_next_submit_and_stats(world, api):
    client = api.as_user(world.users[Role.ANNOTATOR])
    project = world.a.project
    task = client.post(f"/api/v1/projects/{project.pk}/next/").json()
    assert set(task) == {"item", "data", "prelabel", "lease_expires"}
    assert task["item"] == world.a.item.pk and task["data"] == world.a.item.data
    created = client.post(
        f"/api/v1/items/{task['item']}/annotations/",
        {"label": "positive", "duration_ms": 2100},
        format="json",
    )
    assert created.status_code == 201
    assert created.json()["item_status"] == "open"
    annotation = Annotation.objects.get(pk=created.json()["id"])
    assert (annotation.label, annotation.duration_ms) == ("positive", 2100)
    stats = client.get(f"/api/v1/projects/{project.pk}/my-stats/").json()
    assert stats == {"today": 2, "gold_answered": 0, "gold_accuracy": None}


def test_submission_errors(world, api):
    annotator = api.as_user(world.users[Role.ANNOTATOR])
    url = f"/api/v1/items/{world.a.item.pk}/annotations/"
    bad = annotator.post(url, {"label": "maybe"}, format="json")
    assert bad.status_code == 400
    assert "not in the label set (positive, negative)" in bad.json()["label"][0]
    missing = annotator.post(url, {}, format="json")
    assert missing.status_code == 400 and "label" in missing.json()
    assert annotator.post(url, {"label": "positive"}, format="json").status_code == 201
    again = annotator.post(url, {"label": "positive"}, format="json")
    assert again.status_code == 409
    assert Annotation.objects.filter(item=world.a.item).count() == 1
    # May see the item (QA lead of the project) but is not one of its annotators: 403.
    qa = api.as_user(world.users[Role.QA_LEAD])
    assert qa.post(url, {"label": "positive"}, format="json").status_code == 403
    # Another tenant's item, or one of a project the caller is not assigned to: 404.
    theirs = f"/api/v1/items/{world.b.item.pk}/annotations/"
    assert annotator.post(theirs, {"label": "urgent"}, format="json").status_code == 404
    spare = api.as_user(world.spare_annotator)
    assert spare.post(url, {"label": "positive"}, format="json").status_code == 404


def test_nothing_left_is_204(world, api):
    client = api.as_user(world.users[Role.ANNOTATOR])
    project = world.a.project
    seen = []
    while (response := client.post(f"/api/v1/projects/{project.pk}/next/")).status_code == 200:
        item = response.json()["item"]
        seen.append(item)
        client.post(f"/api/v1/items/{item}/annotations/", {"label": "negative"}, format="json")
    assert response.status_code == 204
    # of the world's three items the second was labeled already and the third is in review
    assert len(seen) == len(set(seen)) == 1


def test_skip_and_undo(world, api):
    client = api.as_user(world.users[Role.ANNOTATOR])
    project = world.a.project
    ItemFactory(dataset=world.a.item.dataset)
    first = client.post(f"/api/v1/projects/{project.pk}/next/").json()["item"]
    assert client.post(f"/api/v1/items/{first}/skip/").status_code == 204
    assert Lease.objects.get(item_id=first, user=world.users[Role.ANNOTATOR]).skipped
    second = client.post(f"/api/v1/projects/{project.pk}/next/").json()["item"]
    assert second != first
    done = client.post(f"/api/v1/items/{second}/annotations/", {"label": "negative"}, format="json")
    back = client.post(f"/api/v1/annotations/{done.json()['id']}/undo/")
    assert back.status_code == 200 and back.json()["item"] == second
    assert not Annotation.objects.filter(pk=done.json()["id"]).exists()
    Lease.objects.filter(item_id=world.a.annotation.item_id).update(expires_at="2000-01-01T00:00Z")
    late = client.post(f"/api/v1/annotations/{world.a.annotation.pk}/undo/")
    assert late.status_code == 409 and "Too late" in late.json()["detail"]


def test_conflicts_say_why(world, api):
    """409: labeled already; or no live lease and the item needs nobody more."""
    client = api.as_user(world.users[Role.ANNOTATOR])
    labeled = client.post(
        f"/api/v1/items/{world.a.annotation.item_id}/annotations/",
        {"label": "negative"},
        format="json",
    )
    assert labeled.status_code == 409
    assert labeled.json()["detail"] == "You have labeled this item already."
    full = ItemFactory(dataset=world.a.item.dataset, needed=1)
    LeaseFactory(item=full, user=world.spare_annotator, expires_at="2999-01-01T00:00Z")
    taken = client.post(
        f"/api/v1/items/{full.pk}/annotations/", {"label": "negative"}, format="json"
    )
    assert taken.status_code == 409
    assert "needs no more labels" in taken.json()["detail"]
    assert not Annotation.objects.filter(item=full).exists()
