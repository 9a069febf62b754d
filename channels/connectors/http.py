"""The JSON-over-HTTP client that connectors are given (stdlib urllib).

Every call is bounded by a timeout, and every way a peer can fail (refused, timed out,
answered an error, answered something that is not JSON) becomes a ConnectorError with a
sentence a user can act on.
"""

import json
import urllib.error
import urllib.request
from urllib.parse import urlencode

from .base import (
    ConnectorAuthError,
    ConnectorHttpError,
    ConnectorProtocolError,
    ConnectorTimeout,
    ConnectorUnavailable,
)

MAX_RESPONSE_BYTES = 20 * 1024 * 1024


class JsonHttpClient:
    def __init__(self, base_url: str, timeout: float, headers: dict[str, str] | None = None):
        if not base_url.startswith(("http://", "https://")):
            raise ValueError("Only http(s) URLs are allowed.")
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.headers = headers or {}

    def get(self, path: str, params: dict | None = None):
        return self.request("GET", path, params=params)

    def post(self, path: str, data: dict):
        return self.request("POST", path, data=data)

    def put(self, path: str, data: dict):
        return self.request("PUT", path, data=data)

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
                exc.code, f"The platform answered {exc.code} to {where}: {detail}"
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


def _error_detail(exc: urllib.error.HTTPError) -> str:
    try:
        data = json.loads(exc.read(64 * 1024) or b"{}")
    except (ValueError, OSError):
        return exc.reason or "no detail"
    if isinstance(data, dict) and data.get("error"):
        return str(data["error"])[:300]
    return str(exc.reason or "no detail")
