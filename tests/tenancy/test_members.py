"""Creating members without telling one tenant about another's people."""

from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from tenancy.models import Membership, Role
from tenancy.services import USERNAME_UNAVAILABLE

from ..factories import TokenFactory

User = get_user_model()


def _client(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {TokenFactory(user=user).key}")
    return client


def _member(username: str) -> dict:
    return {"username": username, "password": "a-long-enough-passphrase-7", "role": "client_viewer"}


def test_a_taken_username_gets_one_answer_wherever_it_is_taken(world):
    alpha = _client(world.users[Role.CLIENT_ADMIN])
    bravo = _client(world.b.users[Role.CLIENT_ADMIN])
    alpha_url = f"/api/v1/organizations/{world.a.organization.pk}/members/"
    bravo_url = f"/api/v1/organizations/{world.b.organization.pk}/members/"
    assert alpha.post(alpha_url, _member("shared.name"), format="json").status_code == 201
    people = (User.objects.count(), Membership.objects.count())
    answers = set()
    for client, url, name in [
        (bravo, bravo_url, "shared.name"),  # another tenant's member
        (bravo, bravo_url, "SHARED.Name"),
        (bravo, bravo_url, "alpha.viewer"),
        (bravo, bravo_url, "ａｌｐｈａ.viewer"),  # fullwidth letters: NFKC makes them alpha.viewer
        (bravo, bravo_url, "ann"),  # the vendor's annotator
        (bravo, bravo_url, "bravo.viewer"),  # one's own member
        (alpha, alpha_url, "shared.name"),
        (alpha, alpha_url, "bravo.admin"),
    ]:
        response = client.post(url, _member(name), format="json")
        assert response.status_code == 400, name
        assert response.json() == {"username": [USERNAME_UNAVAILABLE]}, name
        answers.add((response.status_code, response.content, response["Content-Type"]))
    assert len(answers) == 1  # byte for byte the same, whoever holds the name
    assert (User.objects.count(), Membership.objects.count()) == people
    assert Membership.objects.get(user__username="shared.name").organization == world.a.organization


def test_a_username_is_checked_as_django_stores_it(world):
    bravo = _client(world.b.users[Role.CLIENT_ADMIN])
    url = f"/api/v1/organizations/{world.b.organization.pk}/members/"
    people = User.objects.count()
    for name in ("with space", "slash/name", "<b>"):
        response = bravo.post(url, _member(name), format="json")
        assert response.status_code == 400, name
        assert list(response.json()) == ["username"], name
    assert User.objects.count() == people
    created = bravo.post(url, _member("ｎｅｗ.viewer"), format="json")
    assert created.status_code == 201
    assert created.json()["username"] == "new.viewer"
