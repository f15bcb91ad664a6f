"""Comments on regions and hosts: append-only, audited, isolated."""

from __future__ import annotations

import pytest

from ipam.models import AuditLog, Comment
from tests.factories import make_host, make_region

pytestmark = pytest.mark.django_db


def test_region_comment_is_created_listed_and_audited(api, alice):
    region = make_region(alice, "India", "mumbai")
    response = api.post(f"/ipam/regions/{region.pk}/comments", {"text": "  rack 4, row B  "}, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["text"] == "rack 4, row B" and body["author"] == "alice"
    assert set(body) == {"comment_id", "text", "author", "created_at"}
    comment = Comment.objects.get()
    assert str(comment.pk) == body["comment_id"]
    assert (comment.resource_type, comment.resource_id, comment.user) == ("region", region.pk, alice)
    audit = AuditLog.objects.get(action_type="comment")
    assert audit.resource_type == "region" and audit.resource_id == str(region.pk)
    assert audit.cidr == "10.0.0.0/24" and audit.snapshot["text"] == "rack 4, row B"

    api.post(f"/ipam/regions/{region.pk}/comments/", {"text": "second"}, format="json")
    listing = api.get(f"/ipam/regions/{region.pk}/comments")
    assert listing.status_code == 200
    assert listing.json()["count"] == 2
    assert [c["text"] for c in listing.json()["results"]] == ["rack 4, row B", "second"]


def test_host_comments_are_separate_from_region_comments(api, alice):
    region = make_region(alice)
    host = make_host(alice, region, hostname="db-1")
    api.post(f"/ipam/regions/{region.pk}/comments", {"text": "region note"}, format="json")
    response = api.post(f"/ipam/hosts/{host.pk}/comments", {"text": "host note"}, format="json")
    assert response.status_code == 201
    assert [c["text"] for c in api.get(f"/ipam/hosts/{host.pk}/comments").json()["results"]] == ["host note"]
    assert AuditLog.objects.get(action_type="comment", resource_type="host").ip_address == host.ip_address


def test_comments_are_append_only(api, alice):
    region = make_region(alice)
    comment = api.post(f"/ipam/regions/{region.pk}/comments", {"text": "x"}, format="json").json()
    assert api.patch(f"/ipam/regions/{region.pk}/comments", {"text": "y"}, format="json").status_code == 405
    assert api.delete(f"/ipam/regions/{region.pk}/comments").status_code == 405
    assert api.delete(f"/ipam/regions/{region.pk}/comments/{comment['comment_id']}").status_code == 404
    assert Comment.objects.get().text == "x"


def test_comment_text_is_validated(api, alice):
    region = make_region(alice)
    for text in ["", "   ", "x" * 2001]:
        response = api.post(f"/ipam/regions/{region.pk}/comments", {"text": text}, format="json")
        assert response.status_code == 400, text
        assert "text" in response.json()["details"]
    assert api.post(f"/ipam/regions/{region.pk}/comments", {}, format="json").status_code == 400
    assert api.post(f"/ipam/regions/{region.pk}/comments", {"text": "x" * 2000}, format="json").status_code == 201
    assert Comment.objects.count() == 1


def test_other_users_resources_answer_404_for_comments(client_for, alice, bob):
    region = make_region(alice)
    host = make_host(alice, region)
    client_for(alice).post(f"/ipam/regions/{region.pk}/comments", {"text": "secret"}, format="json")
    bob_client = client_for(bob)
    assert bob_client.get(f"/ipam/regions/{region.pk}/comments").status_code == 404
    assert bob_client.post(f"/ipam/regions/{region.pk}/comments", {"text": "hi"}, format="json").status_code == 404
    assert bob_client.get(f"/ipam/hosts/{host.pk}/comments").status_code == 404
    assert bob_client.post(f"/ipam/hosts/{host.pk}/comments", {"text": "hi"}, format="json").status_code == 404
    assert Comment.objects.count() == 1


def test_readers_can_read_but_not_write_comments(client_for, reader):
    region = make_region(reader)
    client = client_for(reader)
    assert client.get(f"/ipam/regions/{region.pk}/comments").status_code == 200
    response = client.post(f"/ipam/regions/{region.pk}/comments", {"text": "x"}, format="json")
    assert response.status_code == 403 and response.json()["details"]["required_permission"] == "update"


def test_comment_list_uses_a_constant_number_of_queries(api, alice, django_assert_max_num_queries):
    region = make_region(alice)
    api.post(f"/ipam/regions/{region.pk}/comments", {"text": "warm-up"}, format="json")
    with django_assert_max_num_queries(4):
        assert api.get(f"/ipam/regions/{region.pk}/comments").status_code == 200
    for i in range(30):
        api.post(f"/ipam/regions/{region.pk}/comments", {"text": f"c{i}"}, format="json")
    with django_assert_max_num_queries(4):
        assert api.get(f"/ipam/regions/{region.pk}/comments", {"page_size": 100}).json()["count"] == 31
