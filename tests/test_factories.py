"""Guards of the suite's data: every model of the platform's apps has a factory, each factory's
row agrees in tenancy with its parents, and no test writes rows behind the factories' back."""

import ast
import inspect
from pathlib import Path

import factory
import pytest
from django.apps import apps

from . import factories

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
PLATFORM_APPS = {"tenancy", "labeling", "prelabels", "qa", "exports", "billing"}
NO_FACTORY_YET: set[str] = set()
# Test files that may write rows themselves (none: every row comes from tests/factories.py).
MAY_WRITE_ROWS: set[str] = set()
WRITES = {"create", "bulk_create", "get_or_create", "update_or_create"}


def platform_models() -> dict[str, type]:
    """The concrete models of every app of this checkout (a new app's too), by label."""
    found = {}
    for config in apps.get_app_configs():
        if Path(config.path).resolve().parent != ROOT:
            continue  # Django's, DRF's, guardian's
        for model in config.get_models():
            if not model._meta.proxy:
                found[model._meta.label] = model
    return found


FACTORIES = [
    member
    for _, member in inspect.getmembers(factories, inspect.isclass)
    if issubclass(member, factory.django.DjangoModelFactory) and not member._meta.abstract
]


def test_every_model_has_a_factory():
    models = platform_models()
    assert PLATFORM_APPS <= {label.split(".")[0] for label in models}
    made = {f._meta.get_model_class() for f in FACTORIES}
    missing = sorted(
        label
        for label, model in models.items()
        if model not in made and label not in NO_FACTORY_YET
    )
    assert not missing, f"models without a factory in tests/factories.py: {missing}"


def _tenant_keys(row) -> list[tuple[str, str, object, object]]:
    """(parent field, key, the row's value, the parent's) for each parent that carries the
    organization or project the row carries too."""
    pairs = []
    for field in row._meta.concrete_fields:
        if not field.is_relation or field.name == "organization":
            continue
        parent = getattr(row, field.name)
        for key in ("organization_id", "project_id"):
            theirs = getattr(parent, key, None)
            if hasattr(row, key) and theirs is not None:
                pairs.append((field.name, key, getattr(row, key), theirs))
    return pairs


@pytest.mark.parametrize("factory_class", FACTORIES, ids=lambda f: f.__name__)
def test_a_factorys_row_agrees_with_its_parents(db, factory_class):
    row = factory_class()
    row.refresh_from_db()  # what was stored, not what the factory holds
    assert [pair for pair in _tenant_keys(row) if pair[2] != pair[3]] == []


def test_the_tenancy_check_sees_a_mismatch(db):
    """An annotation put in another organization than its item's is caught (the annotator
    follows the annotation's organization, so it agrees)."""
    annotation = factories.AnnotationFactory(organization=factories.OrganizationFactory())
    pairs = _tenant_keys(annotation)
    assert {(name, key) for name, key, mine, theirs in pairs if mine != theirs} == {
        ("item", "organization_id"),
        ("project", "organization_id"),
    }


def _row_writes(path: Path, rel: str) -> list[str]:
    """`<manager>.create(...)` and friends; a factory's own `.create()` is the way."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=rel)):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        if node.func.attr not in WRITES:
            continue
        receiver = node.func.value
        name = receiver.attr if isinstance(receiver, ast.Attribute) else getattr(receiver, "id", "")
        if not name.endswith("Factory"):
            found.append((node.lineno, f"{rel}:{node.lineno}: {ast.unparse(node.func)}(...)"))
    return [line for _, line in sorted(found)]


def test_tests_make_rows_through_the_factories():
    offenders = []
    for path in sorted(TESTS.rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if rel != "tests/factories.py" and rel not in MAY_WRITE_ROWS:
            offenders += _row_writes(path, rel)
    assert offenders == [], "make these rows with tests/factories.py:\n" + "\n".join(offenders)


def test_the_scan_sees_what_it_forbids(tmp_path):
    """The scanner itself: each write is found however it is spelled, factories are not."""
    source = tmp_path / "sample.py"
    source.write_text(
        "Item.objects.create(a=1)\n"
        "Lease.objects.bulk_create(\n    [],\n)\n"
        "Token.objects.get_or_create(user=u)\n"
        "project.items.create(x=1)\n"
        "ItemFactory.create(x=1)\n"
        "factories.ItemFactory.create_batch(3)\n"
        "Item.objects.filter(pk=1).update(x=2)\n"
    )
    assert [line.split(":")[1] for line in _row_writes(source, "sample.py")] == ["1", "2", "5", "6"]
