"""Recorded Medusa answers, played back over real HTTP to the Medusa connector.

A recording is the list of exchanges one scenario made with the pinned Medusa (request
method, path with query, JSON body; answer status, Retry-After, JSON body), written by
channels/tests/recordings/medusa/record.py through `RecordingProxy`. `ReplayServer`
answers the same requests with the same answers, in order, so the connector's real HTTP
client (Basic auth, error bodies, Retry-After) is what the contract tests exercise. A
request that is not the next one recorded is answered 599 and kept in `mismatches`.
"""

import json
import threading
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

RECORDINGS = Path(__file__).parent / "recordings" / "medusa"
KEPT_HEADERS = ("Retry-After",)


def load(name: str) -> dict:
    return json.loads((RECORDINGS / f"{name}.json").read_text())


def request_key(method: str, path: str, body) -> tuple:
    """What makes two requests the same: the method, the path, the query's pairs in
    order, and the JSON body."""
    parts = urlsplit(path)
    return method, parts.path, parse_qsl(parts.query, keep_blank_values=True), body


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, respond):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.respond = respond


class _Handler(BaseHTTPRequestHandler):
    def _serve(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        body = json.loads(raw) if raw else None
        status, headers, answer = self.server.respond(self.command, self.path, body, dict(self.headers))
        payload = json.dumps(answer).encode() if answer is not None else b""
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_DELETE = do_PUT = do_PATCH = _serve

    def log_message(self, *args):  # the test output stays quiet
        pass


class _Running:
    """A server on a free local port, in a thread, for a `with` block."""

    def __init__(self, respond):
        self.server = _Server(respond)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self):
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


class ReplayServer(_Running):
    def __init__(self, exchanges: list[dict]):
        self.pending = list(exchanges)
        self.mismatches: list[str] = []
        self.requests: list[tuple] = []
        super().__init__(self._respond)

    def _respond(self, method, path, body, headers):
        self.requests.append((method, path, body, headers))
        if not self.pending:
            self.mismatches.append(f"unexpected {method} {path}")
            return 599, {}, {"type": "replay", "message": "no recorded exchange left"}
        exchange = self.pending.pop(0)
        wanted = request_key(exchange["method"], exchange["path"], exchange.get("body"))
        got = request_key(method, path, body)
        if exchange.get("any_query"):  # a derived answer that stands for any read of its path
            wanted, got = wanted[:2], got[:2]
        if got != wanted:
            self.mismatches.append(f"{method} {path} {body!r} instead of {wanted!r}")
            return 599, {}, {"type": "replay", "message": "not the recorded request"}
        return exchange["status"], exchange.get("headers") or {}, exchange.get("response")

    def query(self, index: int) -> list[tuple[str, str]]:
        """The query pairs of the index-th request received."""
        return parse_qsl(urlsplit(self.requests[index][1]).query, keep_blank_values=True)

    @property
    def finished(self) -> bool:
        """Every recorded exchange was asked for, and nothing else."""
        return not self.pending and not self.mismatches


class RecordingProxy(_Running):
    """Forwards to a real Medusa and keeps each exchange; `after[n]` is called once the
    n-th exchange (0-based) is answered by Medusa and before its answer is passed on, to
    change Medusa at a chosen point of a read."""

    def __init__(self, target: str):
        self.target = target.rstrip("/")
        self.exchanges: list[dict] = []
        self.after: dict[int, object] = {}
        super().__init__(self._respond)

    def _respond(self, method, path, body, headers):
        request = urllib.request.Request(  # noqa: S310 - a local recording session
            self.target + path,
            data=json.dumps(body).encode() if body is not None else None,
            method=method,
            headers={k: v for k, v in headers.items() if k in ("Authorization", "Content-Type", "Accept")},
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
                status, raw, got = response.status, response.read(), response.headers
        except urllib.error.HTTPError as exc:
            status, raw, got = exc.code, exc.read(), exc.headers
        answer = json.loads(raw) if raw else None
        kept = {name: got[name] for name in KEPT_HEADERS if got.get(name)}
        index = len(self.exchanges)
        self.exchanges.append(
            {
                "method": method,
                "path": path,
                "body": body,
                "status": status,
                "headers": kept,
                "response": answer,
            }
        )
        if index in self.after:
            self.after.pop(index)()
        return status, kept, answer
