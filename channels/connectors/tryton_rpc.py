"""A session with a Tryton server over its JSON-RPC protocol (trytond 8.2).

Every call is `POST /<database>/rpc/` with `{"id", "method", "params"}`; a model method
takes its positional arguments then the context. `common.db.login(user, {"password"},
language)` answers `[user id, session key, …]`, sent back as
`Authorization: Session base64(user:id:key)`. Tryton answers a refused business rule in
the body (`{"error": ["UserError", [message, description, domain]]}`), an unknown or
expired session with 401, an unknown database with 404. Dates, datetimes and decimals
travel as `{"__class__": …}` objects; datetimes are naive UTC.
"""

import base64
from datetime import UTC, date, datetime
from decimal import Decimal
from itertools import count
from urllib.parse import quote

from .base import ConnectorAuthError, ConnectorError, ConnectorHttpError, ConnectorProtocolError


class TrytonUserError(ConnectorError):
    """Tryton refused the request by its rules (a UserError or an unanswered UserWarning):
    the same request fails again until someone changes the data."""


class TrytonBusy(ConnectorError):
    """Two transactions wrote the same record (ConcurrencyException): try again."""

    transient = True


class TrytonServerError(ConnectorProtocolError):
    """Tryton failed on the request itself (an exception of the server, not a rule)."""


# Error names Tryton puts first in a refused call's "error" (trytond.exceptions).
_REFUSALS = ("UserError", "UserWarning", "AccessError")


def encode(value):
    """Python values as Tryton's JSON: dates, datetimes (naive UTC) and decimals tagged."""
    if isinstance(value, datetime):
        value = value.astimezone(UTC) if value.tzinfo else value
        return {
            "__class__": "datetime",
            "year": value.year,
            "month": value.month,
            "day": value.day,
            "hour": value.hour,
            "minute": value.minute,
            "second": value.second,
            "microsecond": value.microsecond,
        }
    if isinstance(value, date):
        return {"__class__": "date", "year": value.year, "month": value.month, "day": value.day}
    if isinstance(value, Decimal):
        return {"__class__": "Decimal", "decimal": str(value)}
    if isinstance(value, dict):
        return {k: encode(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [encode(v) for v in value]
    return value


def decode(value):
    """Tryton's JSON as Python values; datetimes become aware (UTC)."""
    if isinstance(value, list):
        return [decode(v) for v in value]
    if not isinstance(value, dict):
        return value
    kind = value.get("__class__")
    if kind == "datetime":
        return datetime(
            value["year"],
            value["month"],
            value["day"],
            value.get("hour", 0),
            value.get("minute", 0),
            value.get("second", 0),
            value.get("microsecond", 0),
            tzinfo=UTC,
        )
    if kind == "date":
        return date(value["year"], value["month"], value["day"])
    if kind == "Decimal":
        return Decimal(value["decimal"])
    return {k: decode(v) for k, v in value.items()}


class TrytonSession:
    """Logs in on the first call and once more when Tryton says the session expired."""

    def __init__(self, http, database: str, user: str, password: str):
        self.http = http
        self.database = database
        self.user = user
        self.password = password
        self.path = f"/{quote(database, safe='')}/rpc/"
        self.context: dict | None = None
        self.calls = 0
        self._ids = count(1)

    def login(self) -> None:
        self.http.headers.pop("Authorization", None)
        try:
            answer = self._post("common.db.login", [self.user, {"password": self.password}, "en"])
        except ConnectorAuthError:
            raise ConnectorAuthError(
                f"Tryton refused user {self.user!r} on database {self.database!r}: wrong user or password."
            ) from None
        except ConnectorHttpError as exc:
            if exc.status == 404:
                raise ConnectorError(
                    f"Tryton at {self.http.base_url} has no database {self.database!r}."
                ) from None
            raise
        if not isinstance(answer, list) or len(answer) < 2:
            raise ConnectorProtocolError("Tryton's answer to common.db.login has no session.")
        token = base64.b64encode(f"{self.user}:{answer[0]}:{answer[1]}".encode()).decode()
        self.http.headers["Authorization"] = f"Session {token}"
        # The user's preferences (company, language) are the context the Tryton client
        # sends with every call: defaults such as a record's company come from it.
        preferences = self._post("model.res.user.get_preferences", [True, {}])
        if not isinstance(preferences, dict):
            raise ConnectorProtocolError("Tryton's answer to res.user.get_preferences is not an object.")
        self.context = preferences

    def call(self, method: str, *args, context: dict | None = None):
        """`model.<name>.<method>(*args, context)`; the result decoded."""
        if self.context is None:
            self.login()
        params = [*args, {**self.context, **(context or {})}]
        try:
            return self._post(method, params)
        except ConnectorAuthError:
            # Sessions expire (trytond's session timeout): log in again, once. A 401 is
            # answered before the method runs, so calling again does nothing twice.
            self.login()
            return self._post(method, [*args, {**self.context, **(context or {})}])

    def model(self, name: str, method: str, *args, context: dict | None = None):
        return self.call(f"model.{name}.{method}", *args, context=context)

    def search_read(
        self, model: str, domain: list, fields: list[str], *, offset=0, limit=None, order=None, context=None
    ):
        return self.model(model, "search_read", domain, offset, limit, order, fields, context=context)

    def _post(self, method: str, params: list):
        self.calls += 1
        answer = self.http.post(
            self.path, {"id": next(self._ids), "method": method, "params": encode(params)}
        )
        if not isinstance(answer, dict):
            raise ConnectorProtocolError(f"Tryton's answer to {method} is not a JSON-RPC object.")
        if "error" in answer and answer["error"] is not None:
            raise _error(method, answer["error"])
        if "result" not in answer:
            raise ConnectorProtocolError(f"Tryton's answer to {method} has neither result nor error.")
        return decode(answer["result"])


def _error(method: str, error) -> ConnectorError:
    if not isinstance(error, list) or not error:
        return TrytonServerError(f"Tryton failed on {method}: {str(error)[:300]}")
    name, args = error[0], error[1] if len(error) > 1 else None
    if name in _REFUSALS and isinstance(args, list) and args:
        # UserWarning's arguments are (key, message, description); the others' (message, description, …).
        words = args[1:3] if name == "UserWarning" else args[:2]
        text = " ".join(str(w).strip() for w in words if w)
        return TrytonUserError(f"Tryton refused {method}: {text}"[:500])
    if name == "ConcurrencyException":
        return TrytonBusy(f"Tryton was writing the same record elsewhere ({method}); try again.")
    if name == "LoginException":
        return ConnectorAuthError(f"Tryton asks for more to log in ({method}): {args}")
    # Any other exception of the server arrives as [str(exception), traceback].
    return TrytonServerError(f"Tryton failed on {method}: {str(name)[:300]}")
