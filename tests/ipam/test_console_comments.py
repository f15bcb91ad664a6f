"""Adding a comment from the console's region page (issue 15): the same service as the API, validated,
audited with the staff user as actor, CSRF-protected and refused to staff who may not change regions."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from ipam.models import AuditLog, Comment
from ipam.services.comments import COMMENT_MAX
from tests.factories import UserFactory, make_region
from tests.ipam.console_support import console_operator

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator(db):
    return console_operator()


@pytest.fixture
def site(operator):
    client = Client()
    client.force_login(operator)
    return client


def _messages(response):
    return [str(m) for m in response.context["messages"]] if response.context else []


def _comment_url(region):
    return f"/admin/ipam/region/{region.pk}/act/comment/"


def test_staff_adds_a_comment_audited_as_the_staff_user_in_the_owners_namespace(site, alice):
    region = make_region(alice, "India", "notes")
    page = f"/admin/ipam/region/{region.pk}/change/"
    form = site.get(page).content.decode()
    assert 'id="comment-form"' in form and f'action="{_comment_url(region)}"' in form
    assert f'maxlength="{COMMENT_MAX}"' in form

    response = site.post(_comment_url(region), {"text": "  rack 4, row B  "}, follow=True)
    assert response.redirect_chain[-1][0] == page
    assert f"Comment added to {region.cidr}." in _messages(response)
    comment = Comment.objects.get()
    assert (comment.user, comment.resource_type, comment.resource_id) == (alice, "region", region.pk)
    assert (comment.text, comment.author) == ("rack 4, row B", "operator")
    row = AuditLog.objects.get(action_type="comment")
    assert (row.actor, row.user_id, row.resource_type, row.resource_id) == ("operator", alice.pk, "region", str(region.pk))
    assert (row.region_id, row.cidr, row.snapshot["text"]) == (region.pk, region.cidr, "rack 4, row B")

    html = response.content.decode()
    assert html.count('class="comment-row"') == 1
    assert '<td class="author">operator</td><td class="text">rack 4, row B</td>' in html
    # the region page's audit trail shows the comment row with the staff user as actor
    assert '<td class="actor">operator</td><td>comment region</td>' in html


def test_comment_text_is_escaped_on_the_region_page(site, alice):
    region = make_region(alice, "India", "xss")
    response = site.post(_comment_url(region), {"text": "<script>alert(1)</script>\nline two"}, follow=True)
    html = response.content.decode()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;<br>line two" in html


@pytest.mark.parametrize("text", ["", "   \n  ", "x" * (COMMENT_MAX + 1)])
def test_invalid_comment_shows_the_usual_error_and_writes_nothing(site, alice, text):
    region = make_region(alice, "India", "bad")
    audit_before = AuditLog.objects.count()
    response = site.post(_comment_url(region), {"text": text}, follow=True)
    assert response.status_code == 200
    messages = _messages(response)
    expected = f"Comment refused: The request is invalid. text: Must be 1-{COMMENT_MAX} characters after trimming."
    assert expected in messages, messages
    assert not Comment.objects.exists()
    assert AuditLog.objects.count() == audit_before


def test_missing_text_field_is_a_validation_error_not_a_500(site, alice):
    region = make_region(alice, "India", "missing")
    messages = _messages(site.post(_comment_url(region), {}, follow=True))
    assert any(m.startswith("Comment refused:") for m in messages), messages
    assert not Comment.objects.exists()


def test_comment_longest_allowed_is_accepted(site, alice):
    region = make_region(alice, "India", "long")
    site.post(_comment_url(region), {"text": "y" * COMMENT_MAX})
    assert len(Comment.objects.get().text) == COMMENT_MAX


def test_staff_who_may_only_view_regions_cannot_comment(alice):
    region = make_region(alice, "India", "viewonly")
    staff = UserFactory(username="viewer", is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="view_region"))
    client = Client()
    client.force_login(staff)
    page = client.get(f"/admin/ipam/region/{region.pk}/change/")
    assert page.status_code == 200 and 'id="comment-form"' not in page.content.decode()
    refused = client.post(_comment_url(region), {"text": "sneaky"})
    assert refused.status_code == 403
    assert not Comment.objects.exists() and not AuditLog.objects.filter(action_type="comment").exists()


def test_staff_without_any_ipam_permission_and_non_staff_cannot_comment(alice):
    region = make_region(alice, "India", "closed")
    staff = UserFactory(username="plainstaff", is_staff=True)
    client = Client()
    client.force_login(staff)
    assert client.post(_comment_url(region), {"text": "nope"}).status_code == 403
    outsider = Client()
    outsider.force_login(UserFactory(username="notstaff"))
    response = outsider.post(_comment_url(region), {"text": "nope"})
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    assert not Comment.objects.exists()


def test_staff_with_the_change_permission_may_comment(alice):
    region = make_region(alice, "India", "changer")
    staff = UserFactory(username="changer", is_staff=True)
    staff.user_permissions.add(*Permission.objects.filter(codename__in=["view_region", "change_region"]))
    client = Client()
    client.force_login(staff)
    assert 'id="comment-form"' in client.get(f"/admin/ipam/region/{region.pk}/change/").content.decode()
    client.post(_comment_url(region), {"text": "ok"})
    assert Comment.objects.get().author == "changer"
    assert AuditLog.objects.get(action_type="comment").actor == "changer"


def test_comment_needs_the_csrf_token_and_a_post(operator, alice):
    region = make_region(alice, "India", "csrf")
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(operator)
    assert strict.post(_comment_url(region), {"text": "forged"}).status_code == 403
    assert strict.get(_comment_url(region)).status_code == 405
    assert not Comment.objects.exists()
    # the page's own form carries the token, and posting with it works
    strict.get(f"/admin/ipam/region/{region.pk}/change/")
    token = strict.cookies["csrftoken"].value
    response = strict.post(_comment_url(region), {"text": "genuine", "csrfmiddlewaretoken": token})
    assert response.status_code == 302 and Comment.objects.get().text == "genuine"
