"""The annotator's page in a real browser: labeling with the keyboard only, skipping, undoing,
two annotators at once, multi-label toggles, the "all done" state, how task data is rendered
(and that it can never run script), and who may open the page."""

import base64
import io
import json
import re
import struct
import wave
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from core.models import IdempotencyKey
from labeling import queue
from labeling.models import Annotation, Item, Lease
from tenancy import services as tenancy_services
from tests.conftest import IMPORT_DATABASES
from tests.e2e.conftest import TIMEOUT_MS
from tests.factories import PASSWORD, DatasetFactory, ItemFactory

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.django_db(transaction=True, databases=IMPORT_DATABASES),
]

LABEL_KEYS = {"1": "positive", "2": "negative"}


def annotate_url(project) -> str:
    return f"/projects/{project.pk}/annotate/"


def make_items(project, count: int, **fields) -> list[Item]:
    dataset = DatasetFactory(project=project)
    return [
        ItemFactory(
            dataset=dataset,
            data={"text": f"Review {n}: the parcel came on time.\nFive stars."},
            **fields,
        )
        for n in range(count)
    ]


def log_in_as(page, username: str) -> None:
    """The login form, for a page of a context other than the `page` fixture's."""
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_test_id("who")).to_have_text(username)


def open_annotate_page(page, project) -> int:
    """Open the page and wait for its first task; returns the item shown."""
    page.goto(annotate_url(project))
    expect(page.get_by_test_id("page-title")).to_have_text(project.name)
    return shown_item(page)


def shown_item(page) -> int:
    task = page.get_by_test_id("task")
    expect(task).to_be_visible()
    expect(task).to_have_attribute("data-item", re.compile(r"^\d+$"))
    return int(task.get_attribute("data-item"))


def label_with_keys(page, *keys: str) -> int:
    """Press label keys then Enter on the task shown; waits for the next task (or the done
    state). Returns the item that was labeled."""
    item = shown_item(page)
    for key in keys:
        page.keyboard.press(key)
    expect(page.get_by_test_id("submit")).to_be_enabled()
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("task")).not_to_have_attribute("data-item", str(item))
    return item


def whole_page_shot(page, path) -> None:
    """A full-page screenshot taken in a viewport as tall as the page: the sticky label bar
    then sits at the end of the task, where a reader scrolled to the bottom would see it."""
    size = page.viewport_size
    height = page.evaluate("document.documentElement.scrollHeight")
    page.set_viewport_size({"width": size["width"], "height": height})
    page.screenshot(path=path, full_page=True)
    page.set_viewport_size(size)


def field_row(page, name: str):
    """The row of the task's field table about one data field."""
    header = page.locator("th", has_text=re.compile("^" + re.escape(name) + "$"))
    return page.get_by_test_id("task-fields").locator("tr").filter(has=header)


def pressed_labels(page) -> list[str]:
    buttons = page.get_by_test_id("label-button")
    return [
        buttons.nth(i).get_attribute("data-label")
        for i in range(buttons.count())
        if buttons.nth(i).get_attribute("aria-pressed") == "true"
    ]


def test_annotator_labels_five_items_with_the_keyboard_and_skips_one(
    e2e_world, page, log_in, shots_dir
):
    project, ann = e2e_world.a.project, e2e_world.users["annotator"]
    make_items(project, 8)
    earlier = e2e_world.a.annotation  # the world's: one label by "ann" today already
    log_in("ann")
    posts: list = []  # (path, body) of every POST the page sends to the API
    page.on(
        "request",
        lambda r: r.method == "POST" and "/api/v1/" in r.url and posts.append((r.url, r.post_data)),
    )
    keys: list = []  # the Idempotency-Key of each submission
    page.on(
        "request",
        lambda r: r.url.endswith("/annotations/") and keys.append(r.headers.get("idempotency-key")),
    )

    first = open_annotate_page(page, project)
    expect(page.get_by_test_id("today-count")).to_have_text("1")
    expect(page.get_by_test_id("gold-accuracy")).to_have_text("—")
    expect(page.get_by_test_id("label-button")).to_have_text(["1 positive", "2 negative"])
    assert pressed_labels(page) == []
    # Enter does nothing until a label is chosen.
    expect(page.get_by_test_id("submit")).to_be_disabled()
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("task")).to_have_attribute("data-item", str(first))

    chosen: dict[int, str] = {}
    shown_texts: dict[int, str] = {}
    skipped = None
    for n, key in enumerate(["1", "2", "1", "1", "2"]):
        if n == 3:
            skipped = shown_item(page)
            page.keyboard.press("s")
            expect(page.get_by_test_id("task")).not_to_have_attribute("data-item", str(skipped))
        item = shown_item(page)
        shown_texts[item] = page.get_by_test_id("task-text").text_content()
        page.keyboard.press("2" if key == "1" else "1")  # change one's mind before settling
        page.keyboard.press(key)
        assert pressed_labels(page) == [LABEL_KEYS[key]]
        assert label_with_keys(page) == item
        chosen[item] = LABEL_KEYS[key]
        expect(page.get_by_test_id("today-count")).to_have_text(str(n + 2))

    expect(page.get_by_test_id("today-count")).to_have_text("6")
    expect(page.get_by_test_id("gold-accuracy")).to_have_text("—")
    page.screenshot(path=shots_dir / "annotate-after-five.png", full_page=True)

    annotations = Annotation.objects.filter(annotator__user=ann).exclude(pk=earlier.pk)
    assert {a.item_id: a.label for a in annotations} == chosen
    # Each label and its next task came in one request (the combined call): next/ was asked
    # only when the page opened and after the skip.
    submissions = [json.loads(body) for url, body in posts if url.endswith("/annotations/")]
    assert len(submissions) == 5 and all(body["next"] is True for body in submissions)
    assert sum(url.endswith("/next/") for url, _ in posts) == 2
    # A key of its own for each label, kept with its answer.
    assert len(set(keys)) == 5 and None not in keys
    assert set(IdempotencyKey.objects.filter(user=ann).values_list("key", flat=True)) == set(keys)
    assert all(a.duration_ms is not None and a.duration_ms > 0 for a in annotations)
    # What was shown was the item's own text.
    texts = dict(Item.objects.filter(pk__in=chosen).values_list("pk", "data__text"))
    assert shown_texts == texts
    assert skipped not in chosen and first in chosen and earlier.item_id not in chosen
    assert Lease.objects.get(item_id=skipped, user=ann).skipped
    assert not Annotation.objects.filter(item_id=skipped).exists()
    # The task now on screen is a sixth one, held by this annotator.
    current = shown_item(page)
    assert current not in chosen and current != skipped
    assert Lease.objects.get(item_id=current, user=ann).annotation_id is None


def test_a_label_whose_answer_was_lost_is_sent_again_with_its_key_and_counts_once(
    e2e_world, page, log_in
):
    """The submission reaches the server, which saves it, but its answer never reaches the
    page (the network drops it): the page says so, Enter sends the same label again with the
    same key, and the server answers the first answer instead of "labeled already"."""
    project, ann = e2e_world.a.project, e2e_world.users["annotator"]
    make_items(project, 3)
    log_in("ann")
    sent: list = []

    def lose_the_first_answer(route):
        sent.append(route.request.headers.get("idempotency-key"))
        if len(sent) == 1:
            route.fetch()  # the server gets it and commits the label
            route.abort("connectionreset")
        else:
            route.continue_()

    page.route(re.compile(r".*/api/v1/items/\d+/annotations/$"), lose_the_first_answer)
    item = open_annotate_page(page, project)
    page.keyboard.press("2")
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("toast")).to_contain_text("it counts once")
    expect(page.get_by_test_id("task")).to_have_attribute("data-item", str(item))
    assert Annotation.objects.filter(item_id=item, annotator__user=ann).count() == 1

    page.keyboard.press("Enter")
    expect(page.get_by_test_id("task")).not_to_have_attribute("data-item", str(item))

    assert len(sent) == 2 and sent[0] == sent[1] is not None
    labels = Annotation.objects.filter(item_id=item, annotator__user=ann)
    assert [a.label for a in labels] == ["negative"]
    assert IdempotencyKey.objects.get(user=ann, key=sent[0]).status_code == 201


def test_two_annotators_at_once_get_different_items(e2e_world, page, log_in, browser, live_server):
    project = e2e_world.a.project
    spare = e2e_world.spare_annotator
    tenancy_services.workforce_assign(project=project, user=spare, role="annotator")
    # Each item needs one more label, so an item one person holds is no one else's to take.
    # Served first (priority) ahead of the world's items, which need three.
    make_items(project, 8, needed=1, priority=1.0)
    log_in("ann")
    other = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 800})
    other.set_default_timeout(TIMEOUT_MS)
    try:
        second = other.new_page()
        log_in_as(second, spare.username)

        ann_items = [open_annotate_page(page, project)]
        spare_items = [open_annotate_page(second, project)]
        assert ann_items[0] != spare_items[0]
        for _ in range(3):
            label_with_keys(page, "1")
            ann_items.append(shown_item(page))
            label_with_keys(second, "2")
            spare_items.append(shown_item(second))
            assert ann_items[-1] != spare_items[-1]
        expect(page.get_by_test_id("today-count")).to_have_text("4")  # the world's label too
        expect(second.get_by_test_id("today-count")).to_have_text("3")
    finally:
        other.close()

    assert not set(ann_items) & set(spare_items)
    by_ann = Annotation.objects.filter(annotator__user__username="ann").exclude(
        pk=e2e_world.a.annotation.pk
    )
    by_spare = Annotation.objects.filter(annotator__user=spare)
    assert sorted(a.item_id for a in by_ann) == sorted(ann_items[:3])
    assert sorted(a.item_id for a in by_spare) == sorted(spare_items[:3])
    assert {a.label for a in by_ann} == {"positive"}
    assert {a.label for a in by_spare} == {"negative"}


def test_undo_brings_the_item_back_and_removes_the_label(e2e_world, page, log_in, shots_dir):
    project, ann = e2e_world.a.project, e2e_world.users["annotator"]
    make_items(project, 4)
    log_in("ann")
    open_annotate_page(page, project)
    undo = page.get_by_test_id("undo")
    expect(undo).to_be_disabled()
    page.keyboard.press("u")
    expect(page.get_by_test_id("toast")).to_have_text("Nothing to undo.")

    labeled = label_with_keys(page, "2")
    following = shown_item(page)
    expect(page.get_by_test_id("today-count")).to_have_text("2")  # with the world's label
    expect(undo).to_be_enabled()
    assert Annotation.objects.filter(item_id=labeled, annotator__user=ann).exists()

    page.keyboard.press("u")

    expect(page.get_by_test_id("task")).to_have_attribute("data-item", str(labeled))
    expect(page.get_by_test_id("today-count")).to_have_text("1")
    expect(page.get_by_test_id("toast")).to_contain_text("label the item again")
    assert pressed_labels(page) == []
    expect(undo).to_be_disabled()
    assert not Annotation.objects.filter(item_id=labeled).exists()
    item = Item.objects.get(pk=labeled)
    assert (item.done, item.status) == (0, "open")

    # Labeled again (the other label this time); the task held meanwhile comes back next.
    assert label_with_keys(page, "1") == labeled
    expect(page.get_by_test_id("task")).to_have_attribute("data-item", str(following))
    expect(page.get_by_test_id("today-count")).to_have_text("2")
    assert Annotation.objects.get(item_id=labeled, annotator__user=ann).label == "positive"

    # Once the server says it is too late, the page says so and keeps the label.
    expired = timezone.now() - timedelta(minutes=1)
    Lease.objects.filter(item_id=labeled, user=ann).update(expires_at=expired)
    page.keyboard.press("u")
    expect(page.get_by_test_id("toast")).to_have_text(re.compile("^Too late to undo"))
    expect(undo).to_be_disabled()
    expect(page.get_by_test_id("task")).to_have_attribute("data-item", str(following))
    assert Annotation.objects.filter(item_id=labeled, annotator__user=ann).exists()
    page.screenshot(path=shots_dir / "annotate-undo-too-late.png", full_page=True)


def test_refused_submissions_say_why(e2e_world, page, log_in):
    project, ann = e2e_world.a.project, e2e_world.users["annotator"]
    make_items(project, 3)
    log_in("ann")
    item = open_annotate_page(page, project)

    # 400: a label outside the set (a stale page, say) is refused; the task stays.
    page.get_by_test_id("label-button").first.evaluate("b => { b.dataset.label = 'neutral'; }")
    page.keyboard.press("1")
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("toast")).to_contain_text("'neutral'")
    expect(page.get_by_test_id("toast")).to_contain_text("not in the label set")
    expect(page.get_by_test_id("task")).to_have_attribute("data-item", str(item))
    expect(page.get_by_test_id("submit")).to_be_enabled()
    assert not Annotation.objects.filter(item_id=item, annotator__user=ann).exists()

    # 409: labeled meanwhile (another tab); the page says so and moves on.
    queue.annotation_submit(item=Item.objects.get(pk=item), user=ann, label="negative")
    page.keyboard.press("2")
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("toast")).to_have_text("You have labeled this item already.")
    expect(page.get_by_test_id("task")).not_to_have_attribute("data-item", str(item))
    assert Annotation.objects.get(item_id=item, annotator__user=ann).label == "negative"


def test_multilabel_keys_toggle_labels(e2e_world, page, log_in):
    project = tenancy_services.project_create(
        organization=e2e_world.a.organization,
        name="Alpha topics",
        task_type="multilabel",
        labels=["price", "quality", "delivery"],
    )
    tenancy_services.workforce_assign(
        project=project, user=e2e_world.users["annotator"], role="annotator"
    )
    make_items(project, 2)
    log_in("ann")
    open_annotate_page(page, project)

    for key, pressed in [
        ("1", ["price"]),
        ("3", ["price", "delivery"]),
        ("1", ["delivery"]),
        ("2", ["quality", "delivery"]),
    ]:
        page.keyboard.press(key)
        assert pressed_labels(page) == pressed
    page.keyboard.press("4")  # no fourth label: nothing happens
    assert pressed_labels(page) == ["quality", "delivery"]
    labeled = label_with_keys(page)

    expect(page.get_by_test_id("today-count")).to_have_text("1")
    assert pressed_labels(page) == []
    annotation = Annotation.objects.get(item_id=labeled)
    assert sorted(annotation.label) == ["delivery", "quality"]


def test_all_done_state_when_nothing_is_left(e2e_world, page, log_in, shots_dir):
    # Bravo's two items: its annotator labeled one already (the world's), one is left.
    # The one left is a gold item (scored as soon as it is answered).
    project = e2e_world.b.project
    Item.objects.filter(pk=e2e_world.b.item.pk).update(gold_label="routine")
    log_in("ann.bravo")
    assert open_annotate_page(page, project) == e2e_world.b.item.pk
    expect(page.get_by_test_id("gold-accuracy")).to_have_text("—")

    label_with_keys(page, "2")
    expect(page.get_by_test_id("gold-accuracy")).to_have_text("100% (of 1)")

    done = page.get_by_test_id("done-state")
    expect(done).to_be_visible()
    expect(done).to_contain_text("All done for now")
    expect(page.get_by_test_id("task")).to_be_hidden()
    expect(page.get_by_test_id("today-count")).to_have_text("2")
    page.keyboard.press("1")
    page.keyboard.press("Enter")
    page.keyboard.press("s")
    page.screenshot(path=shots_dir / "annotate-done.png", full_page=True)
    page.get_by_role("button", name="Check again").click()
    expect(page.get_by_test_id("toast")).to_contain_text("Still nothing for you")
    expect(done).to_be_visible()
    labels = Annotation.objects.filter(annotator__user__username="ann.bravo").values_list(
        "item_id", "label"
    )
    assert sorted(labels) == sorted(
        [(e2e_world.b.annotation.item_id, "urgent"), (e2e_world.b.item.pk, "routine")]
    )
    assert Lease.objects.filter(user__username="ann.bravo", skipped=True).count() == 0

    # Undo works from here too: the last item comes back.
    page.keyboard.press("u")
    expect(page.get_by_test_id("task")).to_be_visible()
    expect(done).to_be_hidden()
    expect(page.get_by_test_id("today-count")).to_have_text("1")
    expect(page.get_by_test_id("gold-accuracy")).to_have_text("—")


def tiny_wav() -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(b"".join(struct.pack("<h", (n % 40 - 20) * 500) for n in range(8000)))
    return buffer.getvalue()


SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" width="360" height="160">'
    '<rect width="360" height="160" fill="#e6ebfb"/>'
    '<circle cx="80" cy="80" r="48" fill="#3355d1"/>'
    '<rect x="160" y="52" width="160" height="20" rx="6" fill="#8fa8ff"/>'
    '<rect x="160" y="90" width="110" height="20" rx="6" fill="#c9d3ea"/></svg>'
)
# A handwritten-looking "7", 8 x 8, values 0..16 as in scikit-learn's digits.
SEVEN = [
    [0, 2, 12, 16, 16, 14, 3, 0],
    [0, 1, 8, 8, 9, 16, 6, 0],
    [0, 0, 0, 0, 10, 13, 0, 0],
    [0, 0, 0, 2, 16, 5, 0, 0],
    [0, 0, 0, 9, 14, 0, 0, 0],
    [0, 0, 2, 16, 6, 0, 0, 0],
    [0, 0, 8, 15, 1, 0, 0, 0],
    [0, 0, 12, 10, 0, 0, 0, 0],
]


def test_task_data_renders_by_field_with_the_prelabel_as_a_hint(e2e_world, page, log_in, shots_dir):
    project = tenancy_services.project_update(
        project=e2e_world.a.project,
        prelabels=True,
        instructions=(
            "Label the customer's overall feeling about the purchase.\n"
            "positive: happy with it, would recommend.\n"
            "negative: complains, returns it, or warns others."
        ),
    )
    svg_url = "data:image/svg+xml;base64," + base64.b64encode(SVG.encode()).decode()
    wav_url = "data:audio/wav;base64," + base64.b64encode(tiny_wav()).decode()
    data = {
        "text": "Arrived a day early.\n\nThe fabric feels cheap, but for this price it is fine.",
        "image": svg_url,
        "pixels": SEVEN,
        "audio": wav_url,
        "source": "app-store",
        "meta": {"stars": 4, "tags": ["price", "delivery"]},
    }
    [item] = make_items(project, 1, priority=1.0)
    Item.objects.filter(pk=item.pk).update(data=data, prelabel="positive", prelabel_confidence=0.93)
    log_in("ann")

    assert open_annotate_page(page, project) == item.pk

    expect(page.get_by_test_id("prelabel")).to_have_text("AI suggests: positive (93%)")
    assert pressed_labels(page) == []  # a hint, not a choice
    expect(page.get_by_test_id("submit")).to_be_disabled()
    text = page.get_by_test_id("task-text")
    expect(text).to_have_text(data["text"])
    assert text.evaluate("e => getComputedStyle(e).whiteSpace") == "pre-wrap"
    expect(page.get_by_test_id("task-image")).to_have_attribute("src", svg_url)
    page.wait_for_function(
        "() => { const i = document.querySelector('[data-testid=task-image]');"
        " return i.complete && i.naturalWidth === 360; }"
    )
    canvas = page.get_by_test_id("task-pixels")
    width, height = canvas.evaluate("c => [c.width, c.height]")
    assert width == height and width >= 8 * 20
    # Scaled up without smoothing, in the picture's own range: 0 is black, the largest white.
    cell = width // 8
    probe = "(c, [x, y]) => Array.from(c.getContext('2d').getImageData(x, y, 1, 1).data)"
    assert canvas.evaluate(probe, [cell // 2, cell // 2]) == [0, 0, 0, 255]
    assert canvas.evaluate(probe, [3 * cell + cell // 2, cell // 2]) == [255, 255, 255, 255]
    assert page.get_by_test_id("task-audio").evaluate(
        "a => a.controls && a.src.startsWith('data:audio/wav')"
    )
    expect(page.get_by_test_id("task-fields").locator("tr")).to_have_count(2)
    expect(field_row(page, "source").locator("td")).to_have_text("app-store")
    shown = field_row(page, "meta").locator("pre").text_content()
    # JSON text, indented (PostgreSQL's jsonb keeps its own key order).
    assert json.loads(shown) == data["meta"] and shown.startswith('{\n  "')
    expect(page.locator("#instructions pre")).to_have_text(project.instructions)
    whole_page_shot(page, shots_dir / "annotate.png")

    # The instructions fold away, and stay folded on the next visit.
    page.get_by_text("Instructions", exact=True).click()
    expect(page.locator("#instructions pre")).to_be_hidden()
    page.reload()
    expect(page.get_by_test_id("task")).to_have_attribute("data-item", str(item.pk))
    expect(page.locator("#instructions pre")).to_be_hidden()

    page.keyboard.press("2")  # against the suggestion
    assert pressed_labels(page) == ["negative"]
    # The viewport only: the labels and actions stay in view under the tall item.
    page.screenshot(path=shots_dir / "annotate-selected.png")
    expect(page.get_by_test_id("submit")).to_be_in_viewport()
    label_with_keys(page)
    annotation = Annotation.objects.get(item=item)
    assert (annotation.label, annotation.prelabel_shown) == ("negative", True)


def test_task_data_cannot_run_script(e2e_world, page, log_in, live_server):
    project = e2e_world.a.project
    [item] = make_items(project, 1, priority=1.0)
    text = '<img src=x onerror="window.__pwned=1">'
    note = "<script>window.__pwned=2</script>"
    data = {
        "text": text,
        "note": note,
        "image": "javascript:window.__pwned=3",
        "audio": "data:text/html,<script>window.__pwned=4</script>",
        "video": "https://127.0.0.1:9/clip.mp4",
        "<b onmouseover=alert(5)>key</b>": {"html": "<svg onload=window.__pwned=6>"},
    }
    Item.objects.filter(pk=item.pk).update(data=data)
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    log_in("ann")

    assert open_annotate_page(page, project) == item.pk

    expect(page.get_by_test_id("task-text")).to_have_text(text)
    fields = page.get_by_test_id("task-fields")
    expect(field_row(page, "note").locator("td")).to_have_text(note)
    expect(fields.locator("th").filter(has_text="onmouseover")).to_have_text(
        "<b onmouseover=alert(5)>key</b>"
    )
    expect(fields).to_contain_text('"html": "<svg onload=window.__pwned=6>"')
    # Unsafe URLs are listed as text, not loaded; a plain https one is.
    expect(field_row(page, "image").locator("td")).to_contain_text(
        [data["image"] + "not shown: only https and data:image/ URLs"]
    )
    expect(field_row(page, "audio").locator("td")).to_contain_text(
        [data["audio"] + "not shown: only https and data:audio/ URLs"]
    )
    task = page.get_by_test_id("task")
    expect(task.locator("img, script, svg, b, audio")).to_have_count(0)
    expect(page.get_by_test_id("task-video")).to_have_attribute(
        "src", "https://127.0.0.1:9/clip.mp4"
    )
    page.keyboard.press("1")
    page.mouse.move(300, 400)
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert dialogs == []
    label_with_keys(page)
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert Annotation.objects.get(item=item).label == "positive"


@pytest.mark.parametrize(
    ("username", "status"),
    [
        ("alpha.admin", 403),  # the client's own admin: sees the project, does not label it
        ("qa", 403),  # assigned, but as QA lead
        ("ann.spare", 404),  # an annotator not assigned to it
        ("bravo.admin", 404),  # another tenant
    ],
)
def test_only_assigned_annotators_may_open_the_page(username, status, e2e_world, page, log_in):
    log_in(username)
    expect(page.get_by_test_id("who")).to_have_text(username)

    response = page.goto(annotate_url(e2e_world.a.project))

    assert response.status == status
    expect(page.get_by_test_id("task")).to_have_count(0)
    expect(page.get_by_test_id("label-button")).to_have_count(0)
    if status == 404:
        expect(page.locator("body")).not_to_contain_text("Alpha")
    assert not Lease.objects.filter(user__username=username).exists()


def test_logged_out_visitor_is_sent_to_log_in(e2e_world, page):
    response = page.goto(annotate_url(e2e_world.a.project))

    assert response.ok
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/projects/\d+/annotate/$"))
