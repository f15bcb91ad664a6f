"""Every configuration write of a webhook lands in its owner's audit trail, in the write's transaction
(contract §4): create, update (enable/disable included), delete, secret rotation and the automatic disable
(a system row). Deliveries (test sends, redeliveries, attempts) are not audited. The secret never is."""

from __future__ import annotations

import json

import pytest
from django.db import transaction

from ipam.models import AuditLog
from ipam.selectors.audit import audit_row
from webhooks.delivery import AUTO_DISABLE_AFTER
from webhooks.models import Webhook
from webhooks.services import webhook_create
from webhooks.signals import webhook_changed

pytestmark = pytest.mark.django_db


def _rows(user, **filters):
    return list(AuditLog.objects.filter(user=user, resource_type="webhook", **filters).order_by("timestamp", "id"))


def _dump(rows) -> str:
    return json.dumps([audit_row(row) for row in rows])


def _create(api, url, events=("host.allocated",), description="ci"):
    response = api.post("/ipam/webhooks", {"webhook_url": url, "events": list(events), "description": description}, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def test_creating_a_webhook_writes_one_create_row_in_the_owners_namespace(api, alice, receiver):
    body = _create(api, receiver.url, events=["host.allocated", "region.created"])
    [row] = _rows(alice)
    assert (row.action_type, row.resource_id, row.actor, row.actor_type) == ("create", body["webhook_id"], "alice", "user")
    assert row.changes == [] and row.reason == ""
    assert row.snapshot["webhook_id"] == body["webhook_id"] and row.snapshot["webhook_url"] == receiver.url
    assert row.snapshot["events"] == ["host.allocated", "region.created"] and row.snapshot["description"] == "ci"
    assert row.snapshot["is_active"] is True and row.snapshot["created_at"] == Webhook.objects.get().created_at.isoformat()
    # Visible (and filterable) in the owner's history through the API.
    history = api.get("/ipam/audit/history", {"resource_type": "webhook"}).json()
    assert history["count"] == 1 and history["results"][0]["audit_id"] == str(row.id)
    assert api.get("/ipam/audit/history", {"resource_id": body["webhook_id"], "action_type": "create"}).json()["count"] == 1


def test_patch_writes_one_update_row_with_exactly_the_changed_fields(api, alice, receiver):
    webhook_id = _create(api, receiver.url)["webhook_id"]
    response = api.patch(
        f"/ipam/webhooks/{webhook_id}", {"events": ["host.allocated", "host.released"], "description": "cmdb"}, format="json"
    )
    assert response.status_code == 200
    [update] = _rows(alice, action_type="update")
    assert (update.resource_id, update.actor, update.actor_type) == (webhook_id, "alice", "user")
    assert update.changes == [
        {"field": "events", "old_value": ["host.allocated"], "new_value": ["host.allocated", "host.released"]},
        {"field": "description", "old_value": "ci", "new_value": "cmdb"},
    ]
    assert update.snapshot["events"] == ["host.allocated", "host.released"] and update.snapshot["description"] == "cmdb"
    # The same values again change nothing: no row (as for regions).
    assert api.patch(f"/ipam/webhooks/{webhook_id}", {"description": "cmdb"}, format="json").status_code == 200
    assert len(_rows(alice, action_type="update")) == 1


def test_disabling_and_re_enabling_are_update_rows_with_the_is_active_change(api, alice, receiver):
    webhook_id = _create(api, receiver.url)["webhook_id"]
    assert api.patch(f"/ipam/webhooks/{webhook_id}", {"is_active": False}, format="json").status_code == 200
    disabled_at = Webhook.objects.get().disabled_at.isoformat()
    assert api.patch(f"/ipam/webhooks/{webhook_id}", {"is_active": True}, format="json").status_code == 200
    disable, enable = _rows(alice, action_type="update")
    assert disable.changes == [
        {"field": "is_active", "old_value": True, "new_value": False},
        {"field": "disabled_at", "old_value": None, "new_value": disabled_at},
        {"field": "disabled_reason", "old_value": "", "new_value": "disabled by its owner"},
    ]
    assert enable.changes == [
        {"field": "is_active", "old_value": False, "new_value": True},
        {"field": "disabled_at", "old_value": disabled_at, "new_value": None},
        {"field": "disabled_reason", "old_value": "disabled by its owner", "new_value": ""},
    ]
    assert enable.snapshot["is_active"] is True and disable.snapshot["is_active"] is False


def test_deleting_a_webhook_writes_one_delete_row_that_keeps_its_snapshot(api, alice, receiver):
    webhook_id = _create(api, receiver.url)["webhook_id"]
    assert api.delete(f"/ipam/webhooks/{webhook_id}").status_code == 204
    assert not Webhook.objects.exists()
    [row] = _rows(alice, action_type="delete")
    assert (row.resource_id, row.actor, row.actor_type, row.changes) == (webhook_id, "alice", "user", [])
    assert row.snapshot["webhook_url"] == receiver.url and row.snapshot["events"] == ["host.allocated"]
    assert [r.action_type for r in _rows(alice)] == ["create", "delete"]


def test_the_secret_never_appears_in_any_audit_row(api, alice, receiver):
    created = _create(api, receiver.url)
    webhook_id = created["webhook_id"]
    first_encrypted = Webhook.objects.get().secret_encrypted
    rotated = api.post(f"/ipam/webhooks/{webhook_id}/rotate-secret")
    assert rotated.status_code == 200
    webhook = Webhook.objects.get()
    assert rotated.json()["secret_key"] != created["secret_key"]
    [row] = _rows(alice, action_type="rotate_secret")
    assert (row.resource_id, row.actor, row.actor_type) == (webhook_id, "alice", "user")
    assert row.changes == [{"field": "secret_rotated_at", "old_value": None, "new_value": webhook.secret_rotated_at.isoformat()}]
    assert row.snapshot["secret_rotated_at"] == webhook.secret_rotated_at.isoformat()
    api.patch(f"/ipam/webhooks/{webhook_id}", {"description": "after rotation"}, format="json")
    api.delete(f"/ipam/webhooks/{webhook_id}")
    rows = _rows(alice)
    assert [r.action_type for r in rows] == ["create", "rotate_secret", "update", "delete"]
    dumped = _dump(rows) + json.dumps(api.get("/ipam/audit/history", {"resource_type": "webhook"}).json())
    for secret in (created["secret_key"], rotated.json()["secret_key"], first_encrypted, webhook.secret_encrypted):
        assert secret not in dumped
    assert "whsec_" not in dumped and "secret_encrypted" not in dumped and "secret_key" not in dumped


def test_test_sends_and_redeliveries_write_no_audit_row(api, alice, receiver, django_capture_on_commit_callbacks):
    webhook_id = _create(api, receiver.url)["webhook_id"]
    with django_capture_on_commit_callbacks(execute=True):
        sent = api.post(f"/ipam/webhooks/{webhook_id}/test")
    assert sent.status_code == 202 and len(receiver.requests) == 1
    with django_capture_on_commit_callbacks(execute=True):
        again = api.post(f"/ipam/webhooks/{webhook_id}/deliveries/{sent.json()['delivery_id']}/redeliver")
    assert again.status_code == 202 and len(receiver.requests) == 2
    assert [r.action_type for r in AuditLog.objects.filter(user=alice)] == ["create"]


def test_the_automatic_disable_writes_one_system_row(api, alice, receiver, django_capture_on_commit_callbacks):
    receiver.default_status = 410  # failed at once, no retry
    webhook_id = _create(api, receiver.url)["webhook_id"]
    for _ in range(AUTO_DISABLE_AFTER):
        with django_capture_on_commit_callbacks(execute=True):
            assert api.post(f"/ipam/webhooks/{webhook_id}/test").status_code == 202
    webhook = Webhook.objects.get()
    assert not webhook.is_active and len(receiver.requests) == AUTO_DISABLE_AFTER
    create, disabled = _rows(alice)  # the ten failed deliveries themselves wrote nothing
    assert create.action_type == "create"
    assert (disabled.action_type, disabled.resource_id, disabled.user_id) == ("webhook_disabled", webhook_id, alice.pk)
    assert (disabled.actor, disabled.actor_type, disabled.auth_method) == ("system", "system", "system")
    assert disabled.reason == f"{AUTO_DISABLE_AFTER} consecutive failed deliveries"
    assert disabled.changes == [
        {"field": "is_active", "old_value": True, "new_value": False},
        {"field": "disabled_at", "old_value": None, "new_value": webhook.disabled_at.isoformat()},
        {"field": "disabled_reason", "old_value": "", "new_value": disabled.reason},
    ]
    assert disabled.snapshot["failure_count"] == AUTO_DISABLE_AFTER and disabled.snapshot["is_active"] is False
    history = api.get("/ipam/audit/history", {"actor": "system", "resource_type": "webhook"}).json()
    assert history["count"] == 1 and history["results"][0]["action_type"] == "webhook_disabled"


def test_another_users_history_shows_none_of_them(api, alice, client_for, bob, receiver):
    webhook_id = _create(api, receiver.url)["webhook_id"]
    api.patch(f"/ipam/webhooks/{webhook_id}", {"description": "x"}, format="json")
    api.post(f"/ipam/webhooks/{webhook_id}/rotate-secret")
    assert len(_rows(alice)) == 3
    bob_client = client_for(bob)
    assert bob_client.get("/ipam/audit/history").json()["count"] == 0
    assert bob_client.get("/ipam/audit/history", {"resource_id": webhook_id}).json()["count"] == 0
    assert api.get("/ipam/audit/history", {"resource_type": "webhook"}).json()["count"] == 3


def test_refused_writes_write_nothing(api, alice, client_for, bob, receiver):
    bad_creates = [
        {"webhook_url": receiver.url, "events": []},
        {"webhook_url": receiver.url, "events": ["region.deleted"]},
        {"webhook_url": "https://10.0.0.1/hook", "events": ["region.created"]},  # SSRF guard
    ]
    for data in bad_creates:
        assert api.post("/ipam/webhooks", data, format="json").status_code == 400, data
    assert not AuditLog.objects.exists()
    webhook_id = _create(api, receiver.url)["webhook_id"]
    base = f"/ipam/webhooks/{webhook_id}"
    assert api.patch(base, {"events": ["nope"]}, format="json").status_code == 400
    assert api.patch(base, {"webhook_url": "http://169.254.169.254/latest"}, format="json").status_code == 400
    bob_client = client_for(bob)
    assert bob_client.patch(base, {"description": "mine"}, format="json").status_code == 404
    assert bob_client.post(f"{base}/rotate-secret").status_code == 404
    assert bob_client.delete(base).status_code == 404
    assert [r.action_type for r in AuditLog.objects.all()] == ["create"]


def test_a_rolled_back_write_leaves_no_audit_row(alice, receiver):
    with pytest.raises(RuntimeError), transaction.atomic():
        webhook_create(actor=alice, webhook_url=receiver.url, events=["host.allocated"])
        assert len(_rows(alice)) == 1  # written in the same transaction...
        raise RuntimeError("the caller's transaction fails later")
    assert not Webhook.objects.exists() and not AuditLog.objects.exists()  # ...and gone with it


def test_a_failing_audit_write_rolls_the_webhook_write_back(api, alice, receiver):
    webhook_id = _create(api, receiver.url)["webhook_id"]

    def refuse(sender, **kwargs):
        raise RuntimeError("audit store unavailable")

    webhook_changed.connect(refuse, dispatch_uid="test.refuse")
    try:
        with pytest.raises(RuntimeError):
            webhook_create(actor=alice, webhook_url=receiver.url, events=["region.created"])
        with pytest.raises(RuntimeError):
            api.patch(f"/ipam/webhooks/{webhook_id}", {"description": "lost"}, format="json")
        with pytest.raises(RuntimeError):
            api.delete(f"/ipam/webhooks/{webhook_id}")
    finally:
        webhook_changed.disconnect(dispatch_uid="test.refuse")
    webhook = Webhook.objects.get()
    assert str(webhook.pk) == webhook_id and webhook.description == "ci"
    assert [r.action_type for r in _rows(alice)] == ["create"]


def test_admin_enable_and_disable_are_audited_as_the_staff_user(client, django_user_model, alice, subscribe, receiver):
    webhook, _ = subscribe(alice, receiver.url)
    client.force_login(django_user_model.objects.create_superuser("root", "root@example.com", "pw-not-used"))
    for action in ("disable_webhooks", "enable_webhooks"):
        response = client.post("/admin/webhooks/webhook/", {"action": action, "_selected_action": [str(webhook.pk)]})
        assert response.status_code == 302
    disable, enable = _rows(alice, action_type="update")
    assert (disable.user_id, disable.actor, disable.actor_type) == (alice.pk, "root", "user")
    assert disable.changes[0] == {"field": "is_active", "old_value": True, "new_value": False}
    assert enable.actor == "root" and enable.changes[0] == {"field": "is_active", "old_value": False, "new_value": True}
