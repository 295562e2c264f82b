"""factory_boy factories: the one place tests make platform objects."""

import factory
from django.contrib.auth import get_user_model

from labeling.models import Dataset, ImportJob, Item
from tenancy.models import Membership, Organization, OrganizationKind, Project

PASSWORD = "correct-horse-battery-9"


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization

    name = factory.Sequence(lambda n: f"Client {n}")
    slug = factory.Sequence(lambda n: f"client-{n}")
    kind = OrganizationKind.CLIENT


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    organization = factory.SubFactory(OrganizationFactory)
    role = "client_admin"


class ProjectFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Project

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Project {n}")
    labels = ["cat", "dog", "bird"]
    overlap = 3
    max_overlap = 5


class DatasetFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Dataset

    project = factory.SubFactory(ProjectFactory)
    organization = factory.SelfAttribute("project.organization")
    name = factory.Sequence(lambda n: f"dataset-{n}")


class ItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Item

    dataset = factory.SubFactory(DatasetFactory)
    project = factory.SelfAttribute("dataset.project")
    organization = factory.SelfAttribute("dataset.organization")
    external_id = factory.Sequence(lambda n: f"ext-{n}")
    data = factory.Sequence(lambda n: {"text": f"item number {n}"})
    needed = factory.SelfAttribute("project.overlap")


class ImportJobFactory(factory.django.DjangoModelFactory):
    """A finished import, as the history shows it (the importer itself is tested on files)."""

    class Meta:
        model = ImportJob

    dataset = factory.SubFactory(DatasetFactory)
    project = factory.SelfAttribute("dataset.project")
    organization = factory.SelfAttribute("dataset.organization")
    dataset_name = factory.SelfAttribute("dataset.name")
    original_name = "rows.jsonl"
    format = "jsonl"
    status = "succeeded"
    rows = 3
    imported = 3
