"""Admin pages of the enhancement stores render read-only; their actions go through the services (audited)."""

from __future__ import annotations

import pytest

from ipam.models import AuditLog, Reservation, SavedFilter, Share
from ipam.services.preferences import saved_filter_create
from ipam.services.reservations import reservation_create
from ipam.services.shares import share_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client, django_user_model):
    """A superuser's session (the root conftest's `admin_user` is an IPAM admin, not Django staff)."""
    client.force_login(django_user_model.objects.create_superuser("root", "root@example.com", "pw-for-tests-only"))
    return client


def test_admin_change_lists_render(staff_client, alice):
    reservation_create(actor=alice, resource_type="region", x_octet=0, y_octet=0, reason="r")
    share_create(actor=alice, resource_type="country", resource_id="IN")
    saved_filter_create(actor=alice, name="f", criteria={})
    for model in ("reservation", "share", "userpreference", "savedfilter"):
        response = staff_client.get(f"/admin/enhancements/{model}/")
        assert response.status_code == 200, model
    share = Share.objects.get()
    page = staff_client.get(f"/admin/enhancements/share/{share.pk}/change/").content.decode()
    assert share.token_hash not in page


def test_admin_delete_action_goes_through_the_service(staff_client, alice):
    reservation = reservation_create(actor=alice, resource_type="region", x_octet=0, y_octet=0, reason="r")
    response = staff_client.post(
        "/admin/enhancements/reservation/", {"action": "delete_reservations", "_selected_action": [str(reservation.pk)]}
    )
    assert response.status_code == 302
    assert not Reservation.objects.exists()
    row = AuditLog.objects.get(resource_type="reservation", action_type="delete", resource_id=str(reservation.pk))
    assert (row.user_id, row.actor) == (alice.pk, "root")  # the owner's namespace, the staff user as actor


def test_admin_revoke_action_goes_through_the_service(staff_client, alice):
    share, _ = share_create(actor=alice, resource_type="country", resource_id="IN")
    response = staff_client.post("/admin/enhancements/share/", {"action": "revoke_shares", "_selected_action": [str(share.pk)]})
    assert response.status_code == 302
    assert Share.objects.get().is_active is False
    row = AuditLog.objects.get(resource_type="share", action_type="revoke")
    assert (row.user_id, row.actor) == (alice.pk, "root")


def test_admin_action_reports_each_refusal_and_goes_on(staff_client, alice):
    revoked, _ = share_create(actor=alice, resource_type="country", resource_id="IN")
    active, _ = share_create(actor=alice, resource_type="country", resource_id="US")
    Share.objects.filter(pk=revoked.pk).update(is_active=False)
    response = staff_client.post(
        "/admin/enhancements/share/", {"action": "revoke_shares", "_selected_action": [str(revoked.pk), str(active.pk)]}, follow=True
    )
    texts = [str(message) for message in response.context["messages"]]
    assert any("Share not found." in text for text in texts) and "Revoked 1 share(s)." in texts
    assert not Share.objects.filter(is_active=True).exists()


def test_admin_cannot_edit_rows_directly(staff_client, alice):
    saved = saved_filter_create(actor=alice, name="f", criteria={})
    assert staff_client.get("/admin/enhancements/reservation/add/").status_code == 403
    response = staff_client.post(f"/admin/enhancements/savedfilter/{saved.pk}/delete/", {"post": "yes"})
    assert response.status_code == 403
    assert SavedFilter.objects.exists()
