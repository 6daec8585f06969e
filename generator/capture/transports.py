"""How capture talks to a live Odoo: one small interface, three protocols, one HTTP connection.

A transport does two things, ``login()`` and ``search_read(model, domain, fields)``; the read plan
that uses them lives once, in ``capture/rpc.py``.

- ``XmlRpc``: ``/xmlrpc/2/common`` authenticate, ``/xmlrpc/2/object`` execute_kw (every Odoo);
- ``JsonRpc``: the same two services over ``/jsonrpc`` (Odoo 16 to 19). Same calls, but the answer
  is JSON, which the client parses many times faster than XML-RPC's XML;
- ``Json2``: Odoo 19's ``POST /json/2/<model>/<method>`` with ``Authorization: bearer <api key>``,
  the method's keyword arguments as the body and the bare result as the answer. No login call:
  the key is checked by every request (401 when refused).

Odoo 19 logs "deprecated in Odoo 19 and scheduled for removal in Odoo 20" for every XML-RPC and
/jsonrpc call; JSON-2 is the way forward.

All three go through ``Http``: one keep-alive connection (reopened once if the server closed it
between two calls), ``Accept-Encoding: gzip``, and a socket timeout. What the server answers is
classified once (``Refused``: login, access, database, missing, fault; ``NotTheProtocol``;
``HttpStatus``), and ``explain`` turns any failure into one ``CaptureError`` whose wording does
not depend on the protocol.
"""

from __future__ import annotations

import gzip
import http.client
import json
import socket
import ssl
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import quote, urlparse

from generator.dsn import redact, scrub
from generator.errors import CaptureError

PROTOCOLS = ("auto", "jsonrpc", "json2", "xmlrpc")
NAMES = {"xmlrpc": "XML-RPC", "jsonrpc": "JSON-RPC", "json2": "JSON-2"}


@dataclass(frozen=True)
class OdooConfig:
    url: str
    database: str
    user: str
    password: str  # the password or API key; never logged, never written
    timeout: float = 120.0
    protocol: str = "auto"  # one of PROTOCOLS; auto: chosen from the server's version (rpc.fetch)


# --- what went wrong -----------------------------------------------------------------------------

class Refused(Exception):
    """Odoo answered, and said no. ``kind``: login, access, database, missing (no such model or
    method), fault (any other server-side exception)."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind
        self.message = message


class NotTheProtocol(Exception):
    """The server answered 200 with something that is not the protocol's format."""


class HttpStatus(Exception):
    """The server answered with an HTTP error status and no Odoo error body."""

    def __init__(self, status: int, reason: str, path: str):
        super().__init__(f"HTTP {status} {reason} for {path}")
        self.status, self.reason, self.path = status, reason, path


def classify(name: str, message: str, detail: str = "") -> Refused:
    """An Odoo exception (its class name, message and traceback text) as a ``Refused`` kind."""
    text = f"{name}\n{message}\n{detail}"
    if "does not exist" in text and "database" in text.lower():
        return Refused("database", message)
    if any(s in text for s in ("AccessDenied", "Access Denied", "AccessError")):
        return Refused("access", message)
    return Refused("fault", message)


def explain(exc: BaseException, config: OdooConfig, protocol: str, what: str) -> CaptureError:
    """One clear message per failure, whatever the protocol (exit code 3). What the server said is
    quoted without the secret, even from a server that echoes the request back."""
    server = f"Odoo at {redact(config.url)}"

    def said(text: object) -> str:
        text = scrub(str(text), config.url)
        return text.replace(config.password, "***") if config.password else text

    if isinstance(exc, CaptureError):
        return exc
    if isinstance(exc, Refused):
        if exc.kind == "database":
            return CaptureError(f"{server}: database {config.database!r} does not exist (ODOO_DATABASE / --odoo-db)")
        if exc.kind == "login":
            hint = " (JSON-2 takes an API key, not a password)" if protocol == "json2" else ""
            return CaptureError(f"{server}: login failed for user {config.user!r} on database {config.database!r} "
                                f"(check ODOO_USER and ODOO_PASSWORD{hint})")
        if exc.kind == "access":
            return CaptureError(f"{server}: access denied for user {config.user!r} while {what}")
        if exc.kind == "missing":
            return CaptureError(f"{server}: {NAMES[protocol]} does not serve what capture asked for while {what} "
                                f"({said(exc.message)[:200]}); is this Odoo 19 or later? --protocol jsonrpc reads older ones")
        lines = said(exc.message).strip().splitlines()
        return CaptureError(f"{server}: server error while {what}: {(lines[-1] if lines else '')[:300]}")
    if isinstance(exc, HttpStatus):
        return CaptureError(f"{server}: HTTP {exc.status} {said(exc.reason)[:200]} for {exc.path} while {what}; "
                            "is this the base URL of an Odoo server (e.g. https://odoo.example.com)?")
    if isinstance(exc, (NotTheProtocol, http.client.HTTPException)):
        return CaptureError(f"{server} did not answer with {NAMES[protocol]} while {what} ({said(exc)[:200]}); "
                            "is this an Odoo server?")
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return CaptureError(f"{server}: no answer within {config.timeout:g} s while {what}")
    if isinstance(exc, ssl.SSLError):
        reason = getattr(exc, "verify_message", None) or exc.reason or exc
        return CaptureError(f"cannot reach {server}: TLS handshake failed ({reason}); check the server's certificate "
                            "and the scheme of --odoo-url")
    if isinstance(exc, OSError):
        return CaptureError(f"cannot reach {server}: {said(exc.strerror or exc)}")
    return CaptureError(f"{server}: {type(exc).__name__} while {what}: {said(exc)[:300]}")


# --- HTTP ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Response:
    status: int
    reason: str
    content_type: str
    body: bytes


class Http:
    """One keep-alive HTTP(S) connection to the server, for every call of a capture."""

    def __init__(self, url: str, timeout: float):
        parsed = urlparse(url)
        self.https = parsed.scheme == "https"
        self.host, self.port = parsed.hostname or "", parsed.port
        self.prefix = parsed.path.rstrip("/")
        self.timeout = timeout
        self._conn: http.client.HTTPConnection | None = None

    def _open(self) -> http.client.HTTPConnection:
        if self.https:
            return http.client.HTTPSConnection(self.host, self.port, timeout=self.timeout,
                                               context=ssl.create_default_context())
        return http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)

    def post(self, path: str, body: bytes, headers: dict[str, str]) -> Response:
        headers = {**headers, "Accept-Encoding": "gzip", "Content-Length": str(len(body))}
        for attempt in (1, 2):
            reused = self._conn is not None
            if self._conn is None:
                self._conn = self._open()
            try:
                self._conn.request("POST", self.prefix + path, body, headers)
                resp = self._conn.getresponse()
                data = resp.read()
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                self.close()
                if reused and attempt == 1:
                    continue  # the server closed the idle keep-alive connection: reopen once
                raise
            except BaseException:
                self.close()
                raise
            if resp.will_close:
                self.close()
            if (resp.getheader("Content-Encoding") or "").lower() == "gzip":
                data = gzip.decompress(data)
            return Response(resp.status, resp.reason, resp.getheader("Content-Type") or "", data)
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


# --- the transports ------------------------------------------------------------------------------

class Transport(Protocol):
    protocol: str  # "xmlrpc" | "jsonrpc" | "json2"

    def login(self) -> None: ...

    def search_read(self, model: str, domain: list, fields: list[str]) -> list[dict]: ...


def _read_kwargs(fields: list[str]) -> dict:
    """Every protocol asks the same: these columns, in id order, many2one values as plain ids
    (``load=''`` spares Odoo a display name per value), labels in English."""
    return {"fields": fields, "order": "id", "load": "", "context": {"lang": "en_US"}}


def _bad_login(uid: object) -> bool:
    return not isinstance(uid, int) or isinstance(uid, bool) or uid <= 0


class XmlRpc:
    protocol = "xmlrpc"

    def __init__(self, http_: Http, config: OdooConfig):
        self.http, self.config, self.uid = http_, config, 0

    def _call(self, endpoint: str, method: str, params: tuple):
        import xmlrpc.client
        from xml.parsers.expat import ExpatError

        body = xmlrpc.client.dumps(params, method, allow_none=True).encode("utf-8")
        path = f"/xmlrpc/2/{endpoint}"
        resp = self.http.post(path, body, {"Content-Type": "text/xml"})
        if resp.status != 200:
            raise HttpStatus(resp.status, resp.reason, self.http.prefix + path)
        try:
            (result,), _ = xmlrpc.client.loads(resp.body, use_builtin_types=True)
        except xmlrpc.client.Fault as fault:
            raise classify("", str(fault.faultString)) from None
        except (ExpatError, ValueError, xmlrpc.client.ResponseError) as exc:
            raise NotTheProtocol(str(exc)) from None
        return result

    def login(self) -> None:
        c = self.config
        self.uid = self._call("common", "authenticate", (c.database, c.user, c.password, {}))
        if _bad_login(self.uid):
            raise Refused("login", "authenticate returned no user id")

    def search_read(self, model: str, domain: list, fields: list[str]) -> list[dict]:
        c = self.config
        return self._call("object", "execute_kw",
                          (c.database, self.uid, c.password, model, "search_read", [domain], _read_kwargs(fields)))


class JsonRpc:
    protocol = "jsonrpc"

    def __init__(self, http_: Http, config: OdooConfig):
        self.http, self.config, self.uid, self._id = http_, config, 0, 0

    def _call(self, service: str, method: str, args: list):
        self._id += 1
        body = json.dumps({"jsonrpc": "2.0", "method": "call", "id": self._id,
                           "params": {"service": service, "method": method, "args": args}}).encode("utf-8")
        resp = self.http.post("/jsonrpc", body, {"Content-Type": "application/json"})
        if resp.status != 200:
            raise HttpStatus(resp.status, resp.reason, self.http.prefix + "/jsonrpc")
        try:
            answer = json.loads(resp.body)
        except ValueError:
            raise NotTheProtocol(f"a {resp.content_type or 'non-JSON'} answer") from None
        if not isinstance(answer, dict) or not ("result" in answer or "error" in answer):
            raise NotTheProtocol("a JSON answer without result or error")
        if "error" in answer:
            error = answer["error"] if isinstance(answer["error"], dict) else {"message": str(answer["error"])}
            data = error.get("data") if isinstance(error.get("data"), dict) else {}
            raise classify(str(data.get("name", "")), str(data.get("message") or error.get("message", "")),
                           str(data.get("debug", "")))
        return answer["result"]

    def login(self) -> None:
        c = self.config
        self.uid = self._call("common", "authenticate", [c.database, c.user, c.password, {}])
        if _bad_login(self.uid):
            raise Refused("login", "authenticate returned no user id")

    def search_read(self, model: str, domain: list, fields: list[str]) -> list[dict]:
        c = self.config
        return self._call("object", "execute_kw",
                          [c.database, self.uid, c.password, model, "search_read", [domain], _read_kwargs(fields)])


class Json2:
    protocol = "json2"
    STATUS_KINDS = {401: "login", 403: "access", 404: "missing"}

    def __init__(self, http_: Http, config: OdooConfig):
        self.http, self.config = http_, config
        self.headers = {"Content-Type": "application/json", "Authorization": f"bearer {config.password}",
                        "X-Odoo-Database": config.database}

    def login(self) -> None:
        """Nothing to do: every request carries the API key."""

    def search_read(self, model: str, domain: list, fields: list[str]) -> list[dict]:
        path = f"/json/2/{quote(model)}/search_read"
        body = json.dumps({"domain": domain, **_read_kwargs(fields)}).encode("utf-8")
        resp = self.http.post(path, body, self.headers)
        try:
            answer = json.loads(resp.body)
        except ValueError:
            if resp.status != 200:
                raise HttpStatus(resp.status, resp.reason, self.http.prefix + path) from None
            raise NotTheProtocol(f"a {resp.content_type or 'non-JSON'} answer") from None
        if resp.status == 200:
            return answer
        if not isinstance(answer, dict) or "message" not in answer:
            raise HttpStatus(resp.status, resp.reason, self.http.prefix + path)
        name, message = str(answer.get("name", "")), str(answer["message"])
        refused = classify(name, message, str(answer.get("debug", "")))
        if refused.kind == "fault" and resp.status in self.STATUS_KINDS:
            refused = Refused(self.STATUS_KINDS[resp.status], message)
        raise refused


TRANSPORTS = {"xmlrpc": XmlRpc, "jsonrpc": JsonRpc, "json2": Json2}
