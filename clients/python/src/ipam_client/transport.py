"""HTTP for the client: authentication (API token, or password → JWT with refresh), bounded retries honouring
`Retry-After`, error answers raised as `IPAMError`, ETags kept on the returned records."""

from __future__ import annotations

import email.utils
import time
from collections.abc import Callable, Iterator
from typing import Any

import requests

from ipam_client.errors import IPAMError

RETRY_STATUSES = frozenset({429, 503})
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class Record(dict[str, Any]):
    """An object of the API (a plain dict of its fields) with the `etag` of the answer that carried it,
    to pass back as `etag=` to an update or delete (sent as `If-Match`)."""

    etag: str | None = None


def _record(data: dict[str, Any], etag: str | None) -> Record:
    record = Record(data)
    record.etag = etag
    return record


def _retry_after(response: requests.Response) -> float | None:
    """Seconds to wait from a `Retry-After` header (delta-seconds or an HTTP date); None if absent or malformed."""
    raw = response.headers.get("Retry-After")
    if not raw:
        return None
    if raw.strip().isdigit():
        return float(raw.strip())
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


class Transport:
    """One `requests.Session` talking to one server as one identity."""

    def __init__(
        self,
        base_url: str,
        *,
        token: str | None = None,
        username: str | None = None,
        password: str | None = None,
        timeout: float = 30.0,
        max_retries: int = 3,
        max_retry_wait: float = 60.0,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if token is None and (username is None or password is None):
            raise ValueError("Give either token=… or username=… and password=….")
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.username = username
        self.password = password
        self.timeout = timeout
        self.max_retries = max_retries
        self.max_retry_wait = max_retry_wait
        self.session = session or requests.Session()
        self.session.headers.setdefault("Accept", "application/json")
        self._sleep = sleep
        self._access: str | None = None
        self._refresh: str | None = None

    # --- authentication ------------------------------------------------------------------------------
    def _login(self) -> None:
        body = self._send("POST", "/auth/token", json={"username": self.username, "password": self.password}, auth=False)
        self._access, self._refresh = body["access"], body.get("refresh")

    def _renew(self) -> None:
        """A new access token: from the refresh token while it is valid, else by logging in again."""
        if self._refresh:
            try:
                body = self._send("POST", "/auth/token/refresh", json={"refresh": self._refresh}, auth=False)
            except IPAMError as error:
                if error.status not in (400, 401):
                    raise
            else:
                self._access = body["access"]
                self._refresh = body.get("refresh", self._refresh)
                return
        self._login()

    def _auth_header(self) -> dict[str, str]:
        if self.token is not None:
            return {"Authorization": f"Token {self.token}"}
        if self._access is None:
            self._login()
        return {"Authorization": f"Bearer {self._access}"}

    # --- requests ------------------------------------------------------------------------------------
    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        """The decoded JSON body of a 2xx answer (a `Record` for an object), None for 204/304."""
        return self._send(method, path, **kwargs)

    def _send(self, method: str, path_or_url: str, *, auth: bool = True, headers: dict[str, str] | None = None, **kwargs: Any) -> Any:
        url = path_or_url if path_or_url.startswith(("http://", "https://")) else self.base_url + path_or_url
        headers = dict(headers or {})
        # Retrying is safe for reads and for requests the server deduplicates (Idempotency-Key); a 429 was never processed.
        replayable = method in SAFE_METHODS or "Idempotency-Key" in headers
        renewed = False
        attempt = 0
        while True:
            if auth:
                headers.update(self._auth_header())
            try:
                response = self.session.request(method, url, headers=headers, timeout=self.timeout, **kwargs)
            except (requests.ConnectionError, requests.Timeout):
                if not replayable or attempt >= self.max_retries:
                    raise
                attempt += 1
                self._sleep(min(2.0**attempt, self.max_retry_wait))
                continue
            if response.status_code == 401 and auth and self.token is None and not renewed:
                renewed = True  # the access token expired: renew it once and send again
                self._renew()
                continue
            if response.status_code in RETRY_STATUSES and attempt < self.max_retries and (replayable or response.status_code == 429):
                wait = _retry_after(response)
                wait = min(2.0 ** (attempt + 1), self.max_retry_wait) if wait is None else wait
                if wait <= self.max_retry_wait:
                    attempt += 1
                    self._sleep(wait)
                    continue
            return self._decode(response)

    def _decode(self, response: requests.Response) -> Any:
        if response.status_code >= 400:
            try:
                body = response.json()
            except ValueError:
                body = None
            if isinstance(body, dict) and "error" in body:
                raise IPAMError(str(body["error"]), str(body.get("message", "")), body.get("details") or {}, response.status_code)
            raise IPAMError(f"http_{response.status_code}", response.text[:500] or response.reason, {}, response.status_code)
        if response.status_code in (204, 304) or not response.content:
            return None
        data = response.json()
        if isinstance(data, dict):
            return _record(data, response.headers.get("ETag"))
        return data

    def pages(self, path: str, params: dict[str, Any]) -> Iterator[Record]:
        """Every item of a list, following its `next` links (cursor or page-number lists alike)."""
        url: str | None = path
        query: dict[str, Any] | None = params
        while url:
            body = self._send("GET", url, params=query)
            if isinstance(body, list):  # an unpaginated list
                yield from (_record(item, None) for item in body)
                return
            yield from (_record(item, None) for item in body["results"])
            url, query = body.get("next"), None  # the link carries every parameter
