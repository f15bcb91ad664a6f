"""SSRF guard: refused at create (400) and re-checked at send time, on the socket actually connected.

DNS is the one thing replaced here (`webhooks.ssrf.resolve`): it leaves the machine.
"""

from __future__ import annotations

import pytest

from tests.factories import make_region
from webhooks import ssrf
from webhooks.models import Webhook, WebhookDelivery

pytestmark = pytest.mark.django_db

FAKE_DNS = {
    "public.example": ["93.184.216.34"],
    "intranet.example": ["10.1.2.3"],
    "mixed.example": ["93.184.216.34", "192.168.1.10"],
    "metadata.example": ["169.254.169.254"],
}


@pytest.fixture(autouse=True)
def fake_dns(monkeypatch):
    def resolve(host, port):
        if host in FAKE_DNS:
            return FAKE_DNS[host]
        raise OSError("Name or service not known")

    monkeypatch.setattr(ssrf, "resolve", resolve)


def _create(api, url):
    return api.post("/ipam/webhooks", {"webhook_url": url, "events": ["region.created"]}, format="json")


REFUSED = [
    "http://127.0.0.1:9/hook",
    "http://127.1.2.3/hook",
    "http://[::1]/hook",
    "http://[::ffff:127.0.0.1]/hook",
    "http://0.0.0.0/hook",
    "http://10.0.0.1/hook",
    "http://172.16.5.4/hook",
    "https://192.168.0.10/hook",
    "http://169.254.169.254/latest/meta-data",
    "http://100.64.0.1/hook",
    "http://224.0.0.1/hook",
    "http://[fd00::1]/hook",
    "http://[fe80::1]/hook",
    "http://intranet.example/hook",
    "http://mixed.example/hook",
    "http://metadata.example/hook",
]


def test_targets_resolving_to_non_public_addresses_are_refused_at_create(settings, api):
    settings.IPAM_WEBHOOK_ALLOWED_HOSTS = []
    for url in REFUSED:
        response = _create(api, url)
        assert response.status_code == 400, (url, response.json())
        body = response.json()
        assert body["error"] == "unsafe_webhook_url" and "webhook_url" in body["details"], url
    assert not Webhook.objects.exists()


def test_non_http_urls_and_unresolvable_hosts_are_400(api):
    for url in [
        "ftp://public.example/x",
        "file:///etc/passwd",
        "gopher://public.example",
        "http://",
        "not a url",
        "http://unknown.invalid/",
    ]:
        response = _create(api, url)
        assert response.status_code == 400 and "webhook_url" in response.json()["details"], url
    assert not Webhook.objects.exists()


def test_public_targets_are_accepted(settings, api):
    settings.IPAM_WEBHOOK_ALLOWED_HOSTS = []
    for url in ("https://public.example/hooks/ipam", "http://93.184.216.34:8080/x"):
        assert _create(api, url).status_code == 201


def test_allowed_hosts_accept_names_addresses_and_networks(settings, api):
    settings.IPAM_WEBHOOK_ALLOWED_HOSTS = ["intranet.example", "127.0.0.1", "192.168.0.0/16"]
    for url in ("http://intranet.example/x", "http://127.0.0.1:8123/x", "http://mixed.example/x"):
        assert _create(api, url).status_code == 201, url
    assert _create(api, "http://127.0.0.2/x").status_code == 400


def test_changing_the_url_to_an_unsafe_target_is_refused(settings, api, alice, subscribe):
    webhook, _ = subscribe(alice, "https://public.example/hook")
    settings.IPAM_WEBHOOK_ALLOWED_HOSTS = []
    response = api.patch(f"/ipam/webhooks/{webhook.pk}", {"webhook_url": "http://10.0.0.1/x"}, format="json")
    assert response.status_code == 400 and response.json()["error"] == "unsafe_webhook_url"
    webhook.refresh_from_db()
    assert webhook.webhook_url == "https://public.example/hook"


def test_the_target_is_checked_again_at_send_time(settings, alice, receiver, subscribe, django_capture_on_commit_callbacks):
    subscribe(alice, receiver.url)  # allowed when created
    settings.IPAM_WEBHOOK_ALLOWED_HOSTS = []  # the operator withdraws the exception
    with django_capture_on_commit_callbacks(execute=True):
        make_region(alice)
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "failed" and delivery.attempts == 1  # refused targets are not retried
    assert delivery.last_error.startswith("Target refused") and not receiver.requests


def test_a_name_that_resolves_differently_at_connect_time_cannot_reach_a_refused_address(
    settings, alice, receiver, subscribe, django_capture_on_commit_callbacks
):
    # DNS rebinding: the check sees a public address, the connection lands on 127.0.0.1.
    FAKE_DNS["localhost"] = ["93.184.216.34"]
    try:
        settings.IPAM_WEBHOOK_ALLOWED_HOSTS = []
        subscribe(alice, f"http://localhost:{receiver.port}/hook")
        with django_capture_on_commit_callbacks(execute=True):
            make_region(alice)
    finally:
        del FAKE_DNS["localhost"]
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "failed" and "non-public address (127.0.0.1)" in delivery.last_error
    assert not receiver.requests
