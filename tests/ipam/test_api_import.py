"""Import: CSV/JSON, multipart or JSON body; preview, auto and manual; atomic unless force; per-row
results with line numbers; the API's rules (quota, reservations, reserved block, names); clear 400s
for bad files; and a round trip export → import reproducing regions and hosts."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from ipam import bitmaps
from ipam.models import AuditLog, Country, Host, Region, Reservation, UserQuota
from tests.factories import make_host, make_region

pytestmark = pytest.mark.django_db

CSV_AUTO = """resource_type,country,region_name,description,tags,hostname,device_type,notes
region,India,mumbai,west coast,"{""env"": ""prod""}",,,
region,JP,tokyo,,,,,
host,India,mumbai,,"{""role"": ""web""}",web-1,VM,
host,IN,mumbai,,,DB-1,Physical,"primary, replicated"
host,JPN,tokyo,,,edge-1,,
"""


def _import(client, content, fmt="csv", **extra):
    return client.post("/ipam/import", {"format": fmt, "content": content, **extra}, format="json")


def test_csv_auto_import_allocates_regions_and_hosts_like_the_api(api, alice):
    response = _import(api, CSV_AUTO)
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["mode"] == "auto" and body["placement"] == "auto" and body["dry_run"] is False
    assert body["created"] == {"regions": 2, "hosts": 3} and body["failed"] == 0 and body["total_rows"] == 5
    assert [(r["line"], r["resource_type"], r["status"]) for r in body["results"]] == [
        (2, "region", "created"),
        (3, "region", "created"),
        (4, "host", "created"),
        (5, "host", "created"),
        (6, "host", "created"),
    ]
    assert [r.get("cidr") or r.get("ip_address") for r in body["results"]] == [
        "10.0.0.0/24",
        "10.46.0.0/24",
        "10.0.0.1",
        "10.0.0.2",
        "10.46.0.1",
    ]
    mumbai = Region.objects.get(user=alice, region_name="mumbai")
    assert mumbai.description == "west coast" and mumbai.tags == {"env": "prod"} and mumbai.owner == "alice"
    assert mumbai.allocated_hosts == 2 and bitmaps.from_bytes(mumbai.host_bitmap) == 0b110
    db = Host.objects.get(hostname="db-1")
    assert db.region == mumbai and db.device_type == "Physical" and db.purpose == "" and db.notes == "primary, replicated"
    assert Host.objects.get(hostname="web-1").tags == {"role": "web"}
    quota = UserQuota.objects.get(user=alice)
    assert (quota.regions_used, quota.hosts_used) == (2, 3)
    creates = AuditLog.objects.filter(user=alice, action_type="create")
    assert creates.filter(resource_type="region").count() == 2 and creates.filter(resource_type="host").count() == 3
    summary = AuditLog.objects.get(action_type="import")
    assert summary.snapshot["created"] == {"regions": 2, "hosts": 3}


def test_hosts_can_join_existing_regions_by_name_or_cidr(api, alice):
    region = make_region(alice, "India", "existing")
    make_host(alice, region)
    content = "hostname,region_name,cidr\nby-name,existing,\nby-cidr,,10.0.0.0/24\n"
    response = _import(api, content)
    assert response.status_code == 201, response.json()
    assert [r["ip_address"] for r in response.json()["results"]] == ["10.0.0.2", "10.0.0.3"]


def test_manual_import_places_rows_at_the_files_addresses(api, alice):
    content = (
        "resource_type,cidr,region_name,ip_address,hostname\n"
        "region,10.5.7.0/24,r1,,\n"
        "host,,,10.5.7.42,h42\n"
        "host,10.5.7.0/24,r1,10.5.7.9,h9\n"
    )
    response = _import(api, content, mode="manual")
    assert response.status_code == 201, response.json()
    region = Region.objects.get(user=alice)
    assert (region.country.name, region.x_octet, region.y_octet) == ("India", 5, 7)
    assert sorted(Host.objects.values_list("ip_address", flat=True)) == ["10.5.7.42", "10.5.7.9"]
    assert bitmaps.from_bytes(region.host_bitmap) == (1 << 42) | (1 << 9)
    # The cursor knows the region: the next auto-allocated region in India skips it only if it is the lowest.
    assert api.post("/ipam/regions", {"country": "India", "region_name": "next"}, format="json").json()["cidr"] == "10.0.0.0/24"


def test_manual_conflicts_are_409_per_row_and_nothing_is_imported(api, alice):
    make_region(alice, "India", "taken")  # 10.0.0.0/24
    taken2 = make_region(alice, "India", "taken2")  # 10.0.1.0/24
    make_host(alice, taken2, hostname="a")  # 10.0.1.1
    before = (Region.objects.count(), Host.objects.count(), AuditLog.objects.count())
    content = (
        "resource_type,cidr,region_name,ip_address,hostname\n"
        "region,10.0.5.0/24,fresh,,\n"
        "region,10.0.0.0/24,clash,,\n"
        "host,,,10.0.0.7,in-clash\n"
        "host,,,10.0.1.1,dup-address\n"
        "host,,,10.0.1.2,a\n"
        "host,,,10.0.5.5,ok\n"
        "host,,,10.0.9.5,nowhere\n"
    )
    response = _import(api, content, mode="manual")
    assert response.status_code == 409
    body = response.json()
    assert body["error"] == "import_failed" and "nothing was imported" in body["message"]
    results = body["details"]["results"]
    assert [(r["line"], r["status"], r.get("error")) for r in results] == [
        (2, "rolled_back", None),
        (3, "failed", "address_in_use"),
        (4, "failed", "region_not_imported"),
        (5, "failed", "address_in_use"),
        (6, "failed", "duplicate_hostname"),
        (7, "rolled_back", None),
        (8, "failed", "region_not_found"),
    ]
    assert body["details"]["failed"] == 5 and body["details"]["created"] == {"regions": 0, "hosts": 0}
    assert (Region.objects.count(), Host.objects.count(), AuditLog.objects.count()) == before
    assert UserQuota.objects.get(user=alice).regions_used == 2


def test_force_commits_the_rows_that_succeed(api, alice):
    make_region(alice, "India", "taken")
    content = (
        "resource_type,cidr,region_name,ip_address,hostname\nregion,10.0.1.0/24,fresh,,\nregion,10.0.0.0/24,clash,,\nhost,,,10.0.1.5,ok\n"
    )
    response = _import(api, content, mode="manual", force=True)
    assert response.status_code == 200
    body = response.json()
    assert body["created"] == {"regions": 1, "hosts": 1} and body["failed"] == 1
    assert [r["status"] for r in body["results"]] == ["created", "failed", "created"]
    assert set(Region.objects.values_list("region_name", flat=True)) == {"taken", "fresh"}
    assert Host.objects.get().ip_address == "10.0.1.5"


def test_hosts_of_a_failed_region_row_fail_with_a_pointer_to_it(api, alice):
    make_region(alice, "India", "dup")
    content = "resource_type,country,region_name,hostname\nregion,India,dup,\nhost,India,dup,h1\n"
    body = _import(api, content, force="true").json()
    assert [(r["status"], r.get("error")) for r in body["results"]] == [("failed", "duplicate_name"), ("failed", "region_not_imported")]
    assert "line 2" in body["results"][1]["message"]


def test_preview_shows_what_would_happen_and_writes_nothing(api, alice):
    make_region(alice, "India", "taken")
    before = (Region.objects.count(), Host.objects.count(), AuditLog.objects.count(), UserQuota.objects.get(user=alice).regions_used)
    response = api.post("/ipam/import/preview", {"format": "csv", "content": CSV_AUTO}, format="json")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["dry_run"] is True and body["mode"] == "preview" and body["placement"] == "auto"
    assert body["created"] == {"regions": 2, "hosts": 3}
    assert {r["status"] for r in body["results"]} == {"would_create"}
    assert body["results"][0]["cidr"] == "10.0.1.0/24"  # where it would go today
    conflict = "resource_type,country,region_name\nregion,India,taken\n"
    preview = _import(api, conflict, mode="preview").json()
    assert preview["failed"] == 1 and preview["results"][0]["error"] == "duplicate_name"
    manual = "resource_type,cidr,region_name\nregion,10.0.0.0/24,x\n"
    guessed = api.post("/ipam/import/preview/", {"format": "csv", "content": manual}, format="json").json()
    assert guessed["placement"] == "manual" and guessed["results"][0]["error"] == "address_in_use"
    assert (
        Region.objects.count(),
        Host.objects.count(),
        AuditLog.objects.count(),
        UserQuota.objects.get(user=alice).regions_used,
    ) == before


def test_multipart_upload_with_query_parameters(api, alice):
    upload = SimpleUploadedFile("inventory.csv", CSV_AUTO.encode(), content_type="text/csv")
    response = api.post("/ipam/import?mode=preview", {"file": upload}, format="multipart")
    assert response.status_code == 200 and response.json()["dry_run"] is True and response.json()["format"] == "csv"
    upload = SimpleUploadedFile("inventory.csv", ("\ufeff" + CSV_AUTO).encode(), content_type="text/csv")
    response = api.post("/ipam/import", {"file": upload}, format="multipart")
    assert response.status_code == 201 and response.json()["created"]["hosts"] == 3
    assert Host.objects.filter(user=alice).count() == 3


def test_json_import_of_records_and_nested_hosts(api, alice):
    payload = [
        {
            "country": "Japan",
            "region_name": "tokyo",
            "tags": {"env": "prod"},
            "hosts": [{"hostname": "a", "device_type": "VM"}, {"hostname": "b"}],
        },
        {"resource_type": "host", "country": "JP", "region_name": "tokyo", "hostname": "c", "status": "reserved"},
    ]
    response = _import(api, payload, fmt="json")
    assert response.status_code == 201, response.json()
    assert [(r["line"], r["path"]) for r in response.json()["results"]] == [
        (1, "[0]"),
        (2, "[0].hosts[0]"),
        (3, "[0].hosts[1]"),
        (4, "[1]"),
    ]
    assert list(Host.objects.order_by("ip_int").values_list("hostname", "ip_address", "status")) == [
        ("a", "10.46.0.1", "active"),
        ("b", "10.46.0.2", "active"),
        ("c", "10.46.0.3", "reserved"),
    ]
    text = json.dumps({"regions": [{"country": "Spain", "region_name": "madrid"}]})
    assert _import(api, text, fmt="json").status_code == 201


def test_the_same_rules_as_the_api_apply(api, alice, settings):
    settings.IPAM_DEFAULT_REGION_QUOTA = 1
    response = _import(api, "country,region_name\nIndia,r1\nIndia,r2\n")
    assert response.status_code == 429
    assert response.json()["error"] == "quota_exceeded"
    assert [r.get("error") for r in response.json()["details"]["results"]] == [None, "quota_exceeded"]
    assert not Region.objects.exists()
    settings.IPAM_DEFAULT_REGION_QUOTA = 100
    reserved = _import(api, "resource_type,cidr,region_name\nregion,10.210.0.0/24,secret\n", mode="manual")
    assert reserved.status_code == 409 and reserved.json()["details"]["results"][0]["error"] == "reserved_range"
    bad_row = _import(api, "country,region_name,hostname\nIndia,r1,\nIndia,r1,ok\nIndia,r1,ok\n")
    assert bad_row.json()["details"]["results"][2]["error"] == "duplicate_hostname"


def test_host_quota_is_enforced_inside_the_batch(api, alice, settings):
    settings.IPAM_DEFAULT_HOST_QUOTA = 2
    region = make_region(alice)
    make_host(alice, region)
    content = f"hostname,region_name\nh1,{region.region_name}\nh2,{region.region_name}\nh3,{region.region_name}\n"
    body = _import(api, content, force=True).json()
    assert [r.get("error") for r in body["results"]] == [None, "quota_exceeded", "quota_exceeded"]
    assert UserQuota.objects.get(user=alice).hosts_used == 2 == Host.objects.count()


def test_auto_import_skips_reservations_and_manual_import_respects_them(api, alice):
    region = make_region(alice)
    india = Country.objects.get(code="IN")
    Reservation.objects.create(user=alice, resource_type="host", country=india, x_octet=0, y_octet=0, z_octet=1, reason="keep")
    body = _import(api, f"hostname,region_name\nh1,{region.region_name}\n").json()
    assert body["results"][0]["ip_address"] == "10.0.0.2"
    manual = _import(api, "hostname,ip_address\nh2,10.0.0.1\n", mode="manual")
    assert manual.status_code == 409 and manual.json()["details"]["results"][0]["error"] == "address_reserved"


def test_statuses_are_applied_after_the_hosts_are_in(api, alice):
    content = "resource_type,country,region_name,status,hostname\nregion,India,r1,reserved,\nhost,India,r1,released,h1\n"
    assert _import(api, content).status_code == 201
    region = Region.objects.get()
    assert region.status == "reserved" and region.allocated_hosts == 1
    assert Host.objects.get().status == "released"
    inactive = _import(api, "hostname,region_name\nh2,r1\n")
    assert inactive.status_code == 409 and inactive.json()["details"]["results"][0]["error"] == "region_not_active"


def test_import_is_isolated_per_user(client_for, alice, bob):
    make_region(alice, "India", "alices")
    response = _import(client_for(bob), "hostname,region_name\nh1,alices\n")
    assert response.status_code == 409 and response.json()["details"]["results"][0]["error"] == "region_not_found"
    assert _import(client_for(bob), "resource_type,cidr,region_name\nregion,10.0.0.0/24,mine\n", mode="manual").status_code == 201
    assert Region.objects.filter(user=bob, x_octet=0, y_octet=0).exists()


def test_readers_cannot_import(client_for, reader):
    response = _import(client_for(reader), CSV_AUTO)
    assert response.status_code == 403 and response.json()["details"]["required_permission"] == "allocate"
    assert client_for(reader).post("/ipam/import/preview", {"format": "csv", "content": CSV_AUTO}, format="json").status_code == 403


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        ("country,region_name,colour\nIndia,r1,red\n", "columns"),
        ("country,region_name,country\nIndia,r1,India\n", "duplicate_columns"),
        ('country,region_name\nIndia,"unterminated\n', "file"),
        ("country,region_name\nIndia,r1,extra\n", "rows"),
        ("hostname,ip_address\nh1,10.0.0.300\n", "rows"),
        ("hostname,ip_address\nh1,192.168.1.1\n", "rows"),
        ("resource_type,cidr,region_name\nregion,10.0.0.0/16,r1\n", "rows"),
        ("resource_type,cidr,region_name\nregion,10.0.0.1/24,r1\n", "rows"),
        ("country,region_name\nAtlantis,r1\n", "rows"),
        ("country,region_name,tags\nIndia,r1,not-json\n", "rows"),
        ('country,region_name,tags\nIndia,r1,"{""bad key!"": ""x""}"\n', "rows"),
        ("hostname,region_name,device_type\nh1,r1,Toaster\n", "rows"),
        ("hostname,region_name\nBad_Name!,r1\n", "rows"),
        ("resource_type,country,region_name\nrouter,India,r1\n", "rows"),
        ("country,region_name\n", "file"),
        ("", "file"),
    ],
)
def test_bad_csv_is_400_with_row_and_field_details(api, alice, content, needle):
    response = _import(api, content)
    assert response.status_code == 400, response.json()
    assert needle in response.json()["details"], response.json()
    assert not Region.objects.exists()


def test_validation_errors_name_the_line_and_field(api, alice):
    content = "hostname,ip_address,region_name\nok,10.0.0.1,r\nbad_host,10.0.0.2,r\nh3,10.0.0.999,r\n"
    details = _import(api, content, mode="manual").json()["details"]
    assert details["error_count"] == 2
    assert [(row["line"], row["field"]) for row in details["rows"]] == [(3, "hostname"), (4, "ip_address")]


def test_bad_encoding_json_and_sizes_are_400(api, alice, settings):
    upload = SimpleUploadedFile("latin1.csv", "country,region_name\nIndia,Zürich\n".encode("latin-1"))
    response = api.post("/ipam/import", {"file": upload}, format="multipart")
    assert response.status_code == 400 and response.json()["error"] == "invalid_encoding"
    assert response.json()["details"]["line"] == 2
    broken = _import(api, '{"regions": [', fmt="json")
    assert broken.status_code == 400 and broken.json()["details"]["line"] == 1
    assert _import(api, {"regions": [{"country": "India", "region_name": "r", "colour": "red"}]}, fmt="json").status_code == 400
    assert _import(api, {"tables": []}, fmt="json").status_code == 400
    assert _import(api, 42, fmt="json").status_code == 400
    settings.IPAM_IMPORT_MAX_BYTES = 100
    big = "country,region_name\n" + "".join(f"India,r{i}\n" for i in range(20))
    response = _import(api, big)
    assert response.status_code == 400 and response.json()["error"] == "file_too_large"
    upload = SimpleUploadedFile("big.csv", big.encode())
    assert api.post("/ipam/import", {"file": upload}, format="multipart").json()["error"] == "file_too_large"
    assert not Region.objects.exists()


def test_bad_request_shapes_are_400(api, alice):
    assert api.post("/ipam/import", {"content": "x"}, format="json").status_code == 400  # no format
    assert api.post("/ipam/import", {"format": "xml", "content": "x"}, format="json").status_code == 400
    assert api.post("/ipam/import", {"format": "csv"}, format="json").status_code == 400  # no content
    assert _import(api, CSV_AUTO, mode="sideways").status_code == 400
    assert _import(api, CSV_AUTO, force="perhaps").status_code == 400
    assert api.post("/ipam/import", [1, 2], format="json").status_code == 400
    upload = SimpleUploadedFile("data.bin", b"country,region_name\nIndia,r1\n")
    assert api.post("/ipam/import", {"file": upload}, format="multipart").status_code == 400  # format unknown
    upload = SimpleUploadedFile("data.bin", b"country,region_name\nIndia,r1\n")
    assert api.post("/ipam/import", {"file": upload, "format": "csv"}, format="multipart").status_code == 201


def test_import_cost_does_not_grow_per_host(api, alice, django_assert_max_num_queries):
    rows = ["resource_type,country,region_name,hostname"]
    for r in range(4):
        rows.append(f"region,India,r{r},")
        rows += [f"host,India,r{r},h{h}" for h in range(250)]
    _import(api, "country,region_name\nJapan,warm-up\n")  # loads the caller's permissions once
    with django_assert_max_num_queries(200):  # 1,004 rows: about 35 queries per region; one host at a time would be > 10,000
        response = _import(api, "\n".join(rows))
    assert response.status_code == 201 and response.json()["created"] == {"regions": 4, "hosts": 1000}
    assert AuditLog.objects.filter(action_type="create", resource_type="host").count() == 1000


def _inventory(user):
    regions = sorted(
        (r.country.name, r.cidr, r.region_name, r.description, r.owner, r.status, r.tags, r.allocated_hosts)
        for r in Region.objects.filter(user=user).select_related("country")
    )
    hosts = sorted(
        (
            h.ip_address,
            h.region.region_name,
            h.hostname,
            h.device_type,
            h.os_type,
            h.application,
            h.cost_center,
            h.purpose,
            h.notes,
            h.status,
            h.tags,
        )
        for h in Host.objects.filter(user=user).select_related("region")
    )
    return regions, hosts


@pytest.mark.parametrize(("fmt", "hierarchy"), [("csv", False), ("csv", True), ("json", False), ("json", True)])
def test_export_then_import_into_an_empty_account_reproduces_the_inventory(
    client_for, alice, bob, fmt, hierarchy, django_capture_on_commit_callbacks
):
    tokyo = make_region(alice, "Japan", "tokyo", tags={"env": "prod"}, description='east, "new"')
    mumbai = make_region(alice, "India", "mumbai", owner="netops")
    make_region(alice, "Spain", "madrid")
    make_region(alice, "India", "pune")
    Region.objects.filter(region_name="pune").update(status="retired")
    make_host(alice, tokyo, hostname="edge-1", device_type="Network", tags={"rack": "4"})
    make_host(alice, mumbai, hostname="web-1", device_type="VM", os_type="linux", application="shop", cost_center="cc-1")
    spare = make_host(alice, mumbai, hostname="spare", purpose="standby", notes="line1\nline2, with comma")
    Host.objects.filter(pk=spare.pk).update(status="released")
    Host.objects.filter(pk=make_host(alice, mumbai, hostname="gap").pk).delete()  # leaves 10.0.0.3 free
    make_host(alice, mumbai, hostname="after-gap")
    Region.objects.filter(pk=mumbai.pk).update(allocated_hosts=3)

    alice_client = client_for(alice)
    with django_capture_on_commit_callbacks(execute=True):
        job = alice_client.post("/ipam/export", {"format": fmt, "include_hierarchy": hierarchy}, format="json").json()
    content = b"".join(alice_client.get(f"/ipam/export/{job['job_id']}/download").streaming_content).decode()

    response = client_for(bob).post("/ipam/import", {"format": fmt, "content": content, "mode": "manual"}, format="json")
    assert response.status_code == 201, response.json()
    assert _inventory(bob) == _inventory(alice)
    assert UserQuota.objects.get(user=bob).hosts_used == 4


def test_imported_hosts_are_published_to_subscribed_webhooks(api, alice, settings):
    from webhooks.models import WebhookEvent
    from webhooks.services import webhook_create

    settings.IPAM_WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
    assert _import(api, "country,region_name,hostname\nIndia,r1,\nIndia,r1,quiet\n").status_code == 201
    assert not WebhookEvent.objects.exists()  # no subscriber: nothing recorded, no query per host
    webhook_create(actor=alice, webhook_url="http://127.0.0.1:9/hook", events=["host.allocated", "region.created"])
    assert _import(api, "country,region_name,hostname\nIndia,r2,\nIndia,r2,a\nIndia,r2,b\n").status_code == 201
    events = WebhookEvent.objects.filter(user=alice)
    assert sorted(events.values_list("event_type", flat=True)) == ["host.allocated", "host.allocated", "region.created"]
    hostnames = sorted(json.loads(e.body)["data"]["hostname"] for e in events.filter(event_type="host.allocated"))
    assert hostnames == ["a", "b"]


def test_import_honours_idempotency_keys(api, alice):
    headers = {"HTTP_IDEMPOTENCY_KEY": "import-2025-01-01"}
    payload = {"format": "csv", "content": "country,region_name\nIndia,once\n"}
    first = api.post("/ipam/import", payload, format="json", **headers)
    again = api.post("/ipam/import", payload, format="json", **headers)
    assert first.status_code == again.status_code == 201
    assert again["Idempotent-Replayed"] == "true" and again.json() == first.json()
    assert Region.objects.filter(user=alice).count() == 1
    other = api.post("/ipam/import", {**payload, "content": "country,region_name\nIndia,twice\n"}, format="json", **headers)
    assert other.status_code == 409 and other.json()["error"] == "idempotency_key_reused"


def test_text_the_database_cannot_store_is_400(api, alice):
    upload = SimpleUploadedFile("bad.json", b'[{"country": "India", "region_name": "a\\u0000b"}]')
    response = api.post("/ipam/import", {"file": upload}, format="multipart")
    assert response.status_code == 400 and "file" in response.json()["details"]
    upload = SimpleUploadedFile("bad.json", b'[{"country": "India", "region_name": "\\ud800"}]')
    assert api.post("/ipam/import", {"file": upload}, format="multipart").status_code == 400
    upload = SimpleUploadedFile("bad.csv", b"country,region_name\nIndia,a\x00b\n")
    assert api.post("/ipam/import", {"file": upload}, format="multipart").status_code == 400
    assert not Region.objects.exists()
