"""The JSON-over-HTTP client that connectors are given (stdlib urllib).

Every call is bounded by a timeout, and every way a peer can fail (refused, timed out,
answered an error, answered something that is not JSON) becomes a ConnectorError with a
sentence a user can act on.
"""

import base64
import json
import time
import urllib.error
import urllib.request
from email.utils import parsedate_to_datetime
from urllib.parse import urlencode

from .base import (
    ConnectorAuthError,
    ConnectorHttpError,
    ConnectorProtocolError,
    ConnectorTimeout,
    ConnectorUnavailable,
)

MAX_RESPONSE_BYTES = 20 * 1024 * 1024
# A Retry-After beyond this is read as this: the run's retry policy, not one header,
# decides how long a job may wait.
MAX_RETRY_AFTER_SECONDS = 3600


class JsonHttpClient:
    def __init__(
        self,
        base_url: str,
        timeout: float,
        headers: dict[str, str] | None = None,
        basic_auth: tuple[str, str] | None = None,
    ):
        if not base_url.startswith(("http://", "https://")):
            raise ValueError("Only http(s) URLs are allowed.")
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.headers = dict(headers or {})
        if basic_auth is not None:
            token = base64.b64encode(f"{basic_auth[0]}:{basic_auth[1]}".encode()).decode()
            self.headers["Authorization"] = f"Basic {token}"

    def get(self, path: str, params: dict | None = None):
        return self.request("GET", path, params=params)

    def post(self, path: str, data: dict):
        return self.request("POST", path, data=data)

    def put(self, path: str, data: dict):
        return self.request("PUT", path, data=data)

    def patch(self, path: str, data: dict):
        return self.request("PATCH", path, data=data)

    def delete(self, path: str, params: dict | None = None):
        return self.request("DELETE", path, params=params)

    def request(self, method: str, path: str, data: dict | None = None, params: dict | None = None):
        """The decoded JSON answer of a 2xx response; raises ConnectorError otherwise."""
        url = self.base_url + path
        if params:
            url += "?" + urlencode({k: v for k, v in params.items() if v is not None})
        body = json.dumps(data).encode() if data is not None else None
        request = urllib.request.Request(  # noqa: S310 - scheme checked in __init__
            url,
            data=body,
            method=method,
            headers={"Accept": "application/json", "Content-Type": "application/json", **self.headers},
        )
        where = f"{method} {path}"
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                raw = response.read(MAX_RESPONSE_BYTES + 1)
        except urllib.error.HTTPError as exc:
            detail = _error_detail(exc)
            if exc.code in (401, 403):
                raise ConnectorAuthError(
                    f"The platform refused the credentials ({exc.code} on {where}): {detail}"
                ) from None
            raise ConnectorHttpError(
                exc.code,
                f"The platform answered {exc.code} to {where}: {detail}",
                retry_after=retry_after(exc.headers.get("Retry-After") if exc.headers else None),
            ) from None
        except TimeoutError:
            raise ConnectorTimeout(
                f"The platform did not answer {where} within {self.timeout:g} s."
            ) from None
        except urllib.error.URLError as exc:
            if isinstance(exc.reason, TimeoutError):
                raise ConnectorTimeout(
                    f"The platform did not answer {where} within {self.timeout:g} s."
                ) from None
            raise ConnectorUnavailable(
                f"The platform at {self.base_url} cannot be reached: {exc.reason}."
            ) from None
        except (ConnectionError, OSError) as exc:
            raise ConnectorUnavailable(
                f"The connection to {self.base_url} failed during {where}: {exc}."
            ) from None
        if len(raw) > MAX_RESPONSE_BYTES:
            raise ConnectorProtocolError(f"The answer to {where} is larger than {MAX_RESPONSE_BYTES} bytes.")
        try:
            return json.loads(raw) if raw else {}
        except ValueError:
            raise ConnectorProtocolError(f"The platform's answer to {where} is not valid JSON.") from None


def retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds a Retry-After header asks for (delay-seconds or an HTTP date), bounded;
    None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        seconds = float(value[:8])
    else:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when is None or when.tzinfo is None:
            return None
        seconds = when.timestamp() - (time.time() if now is None else now)
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_SECONDS)


def _error_detail(exc: urllib.error.HTTPError) -> str:
    try:
        data = json.loads(exc.read(64 * 1024) or b"{}")
    except (ValueError, OSError):
        return exc.reason or "no detail"
    # {"error": …} (the sandbox) or {"type": …, "message": …} (Medusa and many others).
    if isinstance(data, dict) and (data.get("error") or data.get("message")):
        return str(data.get("error") or data["message"])[:300]
    return str(exc.reason or "no detail")
