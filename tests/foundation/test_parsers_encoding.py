"""Every request parser refuses invalid UTF-8 with 400 `parse_error` and the standard body (issue 14 item 14).

Table-driven over the three body parsers (JSON, form-encoded, multipart) and over where the bad bytes sit
(raw or percent-encoded, in a value or a field name, in a multipart file name); valid non-ASCII text in each
parser is stored exactly. Nothing is written by a refused request.
"""

from __future__ import annotations

import pytest

from ipam.models import AuditLog, Region

pytestmark = pytest.mark.django_db

FORM = "application/x-www-form-urlencoded"
BOUNDARY = "----ipam-test-boundary"
MULTIPART = f"multipart/form-data; boundary={BOUNDARY}"


def multipart(fields: list[tuple[bytes, bytes]], file: tuple[bytes, bytes] | None = None) -> bytes:
    out = b""
    for name, value in fields:
        out += f"--{BOUNDARY}\r\n".encode() + b'Content-Disposition: form-data; name="' + name + b'"\r\n\r\n' + value + b"\r\n"
    if file:
        filename, content = file
        out += f"--{BOUNDARY}\r\n".encode()
        out += b'Content-Disposition: form-data; name="file"; filename="' + filename + b'"\r\nContent-Type: text/csv\r\n\r\n'
        out += content + b"\r\n"
    return out + f"--{BOUNDARY}--\r\n".encode()


BAD = [
    ("json raw bytes", "application/json", b'{"country": "US", "region_name": "r\xff\xfe"}'),
    ("json overlong encoding", "application/json", b'{"country": "US", "region_name": "r\xc0\xaf"}'),
    ("form raw bytes", FORM, b"country=US&region_name=r\xff\xfe"),
    ("form percent-encoded", FORM, b"country=US&region_name=r%FF%FE"),
    ("form truncated sequence", FORM, b"country=US&region_name=caf%C3"),
    ("form surrogate encoded", FORM, b"country=US&region_name=%ED%A0%80"),
    ("form bad key", FORM, b"country=US&region_name=r&d%FFscription=x"),
    ("multipart value", MULTIPART, multipart([(b"country", b"US"), (b"region_name", b"r\xff\xfe")])),
    ("multipart overlong", MULTIPART, multipart([(b"country", b"US"), (b"region_name", b"\xc0\xaf")])),
]


@pytest.mark.parametrize(("case", "content_type", "raw"), BAD, ids=[row[0] for row in BAD])
def test_invalid_utf8_is_400_parse_error_in_every_parser(api, case, content_type, raw):
    response = api.generic("POST", "/ipam/regions", raw, content_type=content_type)
    assert response.status_code == 400, (case, response.status_code, response.content[:300])
    body = response.json()
    assert set(body) == {"error", "message", "details"} and body["error"] == "parse_error", body
    assert "UTF-8" in body["message"] or "utf-8" in body["message"].lower(), body
    assert not Region.objects.exists() and not AuditLog.objects.exists()


GOOD = [
    ("json", "application/json", '{"country": "US", "region_name": "Zürich ☃ 🚀"}'.encode()),
    ("form raw", FORM, "country=US&region_name=Zürich ☃ 🚀".encode()),
    ("form percent-encoded", FORM, b"country=US&region_name=Z%C3%BCrich+%E2%98%83+%F0%9F%9A%80"),
    ("multipart", MULTIPART, multipart([(b"country", b"US"), (b"region_name", "Zürich ☃ 🚀".encode())])),
]


@pytest.mark.parametrize(("case", "content_type", "raw"), GOOD, ids=[row[0] for row in GOOD])
def test_valid_utf8_is_stored_exactly_by_every_parser(api, case, content_type, raw):
    response = api.generic("POST", "/ipam/regions", raw, content_type=content_type)
    assert response.status_code == 201, (case, response.content[:300])
    assert Region.objects.get().region_name == "Zürich ☃ 🚀"


def test_a_real_replacement_character_is_not_mistaken_for_invalid_bytes(api):
    response = api.generic("POST", "/ipam/regions", "country=US&region_name=a\ufffdb".encode(), content_type=FORM)
    assert response.status_code == 201 and Region.objects.get().region_name == "a\ufffdb"


def test_a_multipart_part_whose_headers_are_not_utf8_is_dropped_never_stored_mangled(api):
    # Django decodes part headers (field and file names) strictly and skips a part it cannot decode: the
    # request then lacks that field and is refused by validation; nothing is stored under a mangled name.
    body = multipart([(b"country", b"US"), (b"region\xff_name", b"r")])
    response = api.generic("POST", "/ipam/regions", body, content_type=MULTIPART)
    assert response.status_code == 400 and response.json()["error"] == "validation_error", response.content[:300]
    assert "region_name" in response.json()["details"]
    assert not Region.objects.exists()


def test_an_import_upload_with_an_invalid_file_name_is_400_and_a_valid_one_imports(api):
    csv = b"country,region_name\nIndia,imp\n"
    response = api.generic("POST", "/ipam/import", multipart([(b"format", b"csv")], (b"hosts\xff.csv", csv)), content_type=MULTIPART)
    assert response.status_code == 400 and "file" in response.json()["details"], response.content[:300]
    assert not Region.objects.exists()
    response = api.generic("POST", "/ipam/import", multipart([(b"format", b"csv")], ("hôsts.csv".encode(), csv)), content_type=MULTIPART)
    assert response.status_code == 201, response.json()
    assert Region.objects.get().region_name == "imp"
