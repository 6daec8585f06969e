"""A local Odoo stand-in that speaks Odoo's three external APIs over real HTTP.

- XML-RPC: ``/xmlrpc/2/common`` and ``/xmlrpc/2/object``;
- JSON-RPC: ``POST /jsonrpc`` with ``{"jsonrpc": "2.0", "method": "call", "params": {"service",
  "method", "args"}}``, answered ``{"result": ...}`` or ``{"error": {"code": 200, "message":
  "Odoo Server Error", "data": {"name", "message", "arguments", "context", "debug"}}}`` as Odoo does;
- JSON-2 (Odoo 19): ``POST /json/2/<model>/<method>`` with ``Authorization: bearer <api key>``
  and optional ``X-Odoo-Database``, the keyword arguments as the JSON body, the bare result as the
  answer, errors as ``{name, message, arguments, context, debug}`` with an HTTP status (401 bad or
  missing key, 403 access, 404 unknown model or method, 500 TypeError for an unexpected keyword,
  shapes from shared/reference/odoo-19.0/api_timing.json).

It serves ir.* records (as Odoo's XML-RPC returns them) for tests and benchmarks, counts every
call, can add a per-call latency (to stand for a remote Odoo), keeps the connection alive, gzips
answers over 1,400 bytes for clients that accept it (the XML-RPC server of the standard library
does the same), and implements what capture uses: ``authenticate``, ``version``,
``execute_kw(..., 'search_read' | 'fields_get', ...)`` with Odoo domains, ``fields``, ``order``
and Odoo's ``load`` keyword (``load=''`` returns many2one values as ids). ``denied`` names models
whose reading raises AccessError, for the error-path tests; ``endpoints`` which APIs answer.
"""

from __future__ import annotations

import copy
import gzip
import json
import threading
import time
import xmlrpc.client
from socketserver import ThreadingMixIn
from urllib.parse import unquote
from xmlrpc.server import MultiPathXMLRPCServer, SimpleXMLRPCDispatcher, SimpleXMLRPCRequestHandler

DB, USER, PASSWORD, UID = "odoo_test", "admin", "secret-password", 2
GZIP_THRESHOLD = 1400  # xmlrpc.server.SimpleXMLRPCRequestHandler.encode_threshold


class OdooError(Exception):
    """An exception as Odoo raises it: its class name, message, XML-RPC fault code, JSON-2 status."""

    def __init__(self, name: str, message: str, *, code: int = 1, status: int = 500):
        super().__init__(message)
        self.name, self.message, self.code, self.status = name, message, code, status

    def fault(self) -> xmlrpc.client.Fault:
        return xmlrpc.client.Fault(self.code, f"{self.name}: {self.message}")

    def body(self) -> dict:
        return {"name": self.name, "message": self.message, "arguments": [self.message], "context": {},
                "debug": f"Traceback (most recent call last):\n{self.name}: {self.message}"}


def _bad_database(db) -> OdooError:
    return OdooError("psycopg2.OperationalError",
                     f'connection to server failed: FATAL:  database "{db}" does not exist', status=404)


class _Handler(SimpleXMLRPCRequestHandler):
    rpc_paths = ("/xmlrpc/2/common", "/xmlrpc/2/object")
    protocol_version = "HTTP/1.1"  # keep-alive, like Odoo behind werkzeug

    def log_message(self, *args):  # quiet
        pass

    def do_POST(self):
        fake: FakeOdoo = self.server.fake
        api = "jsonrpc" if self.path == "/jsonrpc" else "json2" if self.path.startswith("/json/2/") else "xmlrpc"
        if api not in fake.endpoints:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))  # keep the connection usable
            return self.report_404()
        if api == "xmlrpc":
            return super().do_POST()
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        if self.path == "/jsonrpc":
            status, answer = 200, fake.jsonrpc(raw)
        else:
            status, answer = fake.json2(self.path, self.headers, raw)
        body = json.dumps(answer).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        if len(body) > GZIP_THRESHOLD and "gzip" in (self.headers.get("Accept-Encoding") or ""):
            body = gzip.compress(body, compresslevel=1)
            self.send_header("Content-Encoding", "gzip")
            fake.gzipped += 1
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _Server(ThreadingMixIn, MultiPathXMLRPCServer):
    daemon_threads = True
    allow_reuse_address = True

    def process_request(self, request, client_address):
        with self.fake._lock:
            self.fake.connections += 1
        super().process_request(request, client_address)


def _is_m2o(value) -> bool:
    return isinstance(value, list) and len(value) == 2 and isinstance(value[0], int) and isinstance(value[1], str)


def _term(record: dict, term: list) -> bool:
    name, op, value = term
    have = record.get(name)
    if _is_m2o(have):
        have = have[0]
    if op == "=":
        return have == value
    if op == "!=":
        return have != value
    if op == "in":
        return have in value
    raise OdooError("ValueError", f"unsupported domain operator {op!r}")


def _parse(domain: list, i: int):
    """One node of an Odoo domain in Polish notation: '|' / '&' take two nodes, '!' one."""
    item = domain[i]
    if item in ("|", "&"):
        left, j = _parse(domain, i + 1)
        right, k = _parse(domain, j)
        return (item, left, right), k
    if item == "!":
        node, j = _parse(domain, i + 1)
        return ("!", node), j
    return item, i + 1


def _evaluate(record: dict, node) -> bool:
    if isinstance(node, tuple):
        if node[0] == "|":
            return _evaluate(record, node[1]) or _evaluate(record, node[2])
        if node[0] == "&":
            return _evaluate(record, node[1]) and _evaluate(record, node[2])
        return not _evaluate(record, node[1])
    return _term(record, node)


def _matches(record: dict, domain: list) -> bool:
    """Odoo's domain semantics: prefix operators, and an implicit AND between top-level nodes."""
    i = 0
    while i < len(domain):
        node, i = _parse(domain, i)
        if not _evaluate(record, node):
            return False
    return True


class FakeOdoo:
    """Serve ``records`` ({model: [record, ...]}) until ``stop()``; use as a context manager."""

    def __init__(self, records: dict[str, list[dict]], *, latency: float = 0.0,
                 db: str = DB, user: str = USER, password: str = PASSWORD, api_key: str | None = None,
                 denied: frozenset[str] = frozenset(), endpoints: tuple[str, ...] = ("xmlrpc", "jsonrpc", "json2")):
        self.records = records
        self.latency = latency
        self.db, self.user, self.password = db, user, password
        self.api_key = password if api_key is None else api_key  # Odoo takes an API key as the password too
        self.denied = denied
        self.endpoints = endpoints  # the APIs served; another path answers 404 (Odoo 20 has no xmlrpc/jsonrpc)
        self.connections = 0  # TCP connections accepted
        self.gzipped = 0  # JSON answers sent gzip-encoded
        self.calls: list[tuple[str, str]] = []  # (endpoint: common | object | json2, method or model.method)
        self.protocols: list[str] = []  # xmlrpc | jsonrpc | json2, per call
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), requestHandler=_Handler, allow_none=True, logRequests=False)
        self._server.fake = self
        self._protocol = threading.local()  # which protocol the current request came in by (jsonrpc or not)
        self.common = {"authenticate": self._authenticate, "login": self._login, "version": self._version}
        self.object = {"execute_kw": self._execute_kw}
        common = SimpleXMLRPCDispatcher(allow_none=True, encoding=None)
        obj = SimpleXMLRPCDispatcher(allow_none=True, encoding=None)
        for dispatcher, methods in ((common, self.common), (obj, self.object)):
            for name, fn in methods.items():
                dispatcher.register_function(self._as_xmlrpc(fn), name)
        self._server.add_dispatcher("/xmlrpc/2/common", common)
        self._server.add_dispatcher("/xmlrpc/2/object", obj)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> "FakeOdoo":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _count(self, endpoint: str, what: str, protocol: str = "xmlrpc") -> None:
        with self._lock:
            self.calls.append((endpoint, what))
            self.protocols.append(protocol)
        if self.latency:
            time.sleep(self.latency)

    # --- the three protocols around one implementation -------------------------------------
    def _via(self) -> str:
        return getattr(self._protocol, "value", "xmlrpc")

    def _as_xmlrpc(self, fn):
        def call(*args):
            try:
                return fn(*args)
            except OdooError as exc:
                raise exc.fault() from None
        return call

    def jsonrpc(self, raw: bytes) -> dict:
        """One /jsonrpc request; the answer is always HTTP 200, errors inside the envelope."""
        request = json.loads(raw)
        params = request.get("params") or {}
        service, method, args = params.get("service"), params.get("method"), params.get("args") or []
        self._protocol.value = "jsonrpc"
        try:
            fn = {"common": self.common, "object": self.object}.get(service, {}).get(method)
            if fn is None:
                raise OdooError("builtins.NameError", f"method {method!r} of service {service!r} not found")
            result = fn(*args)
        except OdooError as exc:
            return {"jsonrpc": "2.0", "id": request.get("id"),
                    "error": {"code": 200, "message": "Odoo Server Error", "data": exc.body()}}
        finally:
            self._protocol.value = "xmlrpc"
        return {"jsonrpc": "2.0", "id": request.get("id"), "result": result}

    def json2(self, path: str, headers, raw: bytes) -> tuple[int, object]:
        """One JSON-2 request: (HTTP status, JSON answer)."""
        model, _, method = unquote(path.removeprefix("/json/2/")).rpartition("/")
        self._count("json2", f"{model}.{method}", "json2")
        try:
            scheme, _, key = (headers.get("Authorization") or "").partition(" ")
            if scheme.lower() != "bearer" or not key:
                raise OdooError("werkzeug.exceptions.Unauthorized",
                                "User not authenticated, use an API Key with a Bearer Authorization header.", status=401)
            if key != self.api_key:
                raise OdooError("werkzeug.exceptions.Unauthorized", "Invalid apikey", status=401)
            db = headers.get("X-Odoo-Database")
            if db is not None and db != self.db:
                raise _bad_database(db)
            if model not in self.records:
                raise OdooError("werkzeug.exceptions.NotFound", f"the model {model!r} does not exist", status=404)
            if method != "search_read":
                raise OdooError("werkzeug.exceptions.NotFound", f"The method '{model}.{method}' does not exist",
                                status=404)
            kwargs = json.loads(raw or b"{}")
            unexpected = sorted(set(kwargs) - {"domain", "fields", "offset", "limit", "order", "load", "context"})
            if unexpected:
                raise OdooError("builtins.TypeError",
                                f"BaseModel._read_format() got an unexpected keyword argument '{unexpected[0]}'")
            return 200, self._search_read(model, kwargs.get("domain") or [], kwargs)
        except OdooError as exc:
            return exc.status, exc.body()

    # --- common ---------------------------------------------------------------------------
    def _version(self):
        self._count("common", "version", self._via())
        return {"server_version": "17.0", "server_version_info": [17, 0, 0, "final", 0, ""],
                "server_serie": "17.0", "protocol_version": 1}

    def _check_db(self, db):
        if db != self.db:
            raise _bad_database(db)

    def _authenticate(self, db, login, password, env):
        self._count("common", "authenticate", self._via())
        self._check_db(db)
        return UID if (login, password) == (self.user, self.password) else False

    def _login(self, db, login, password):
        return self._authenticate(db, login, password, {})

    # --- object ---------------------------------------------------------------------------
    def _execute_kw(self, db, uid, password, model, method, args, kwargs=None):
        self._count("object", f"{model}.{method}", self._via())
        self._check_db(db)
        if uid != UID or password not in (self.password, self.api_key):
            raise OdooError("odoo.exceptions.AccessDenied", "Access Denied", code=3, status=401)
        kwargs = kwargs or {}
        if method == "search_read":
            return self._search_read(model, args[0] if args else kwargs.get("domain", []), kwargs)
        if method == "fields_get":
            return self._fields_get(model)
        raise OdooError("builtins.AttributeError", f"method {method!r} of {model!r} not served by the test server",
                        code=2, status=404)

    def _search_read(self, model, domain, kwargs):
        if model not in self.records:
            raise OdooError("KeyError", f"'{model}'", code=2, status=404)
        if model in self.denied:
            raise OdooError("odoo.exceptions.AccessError",
                            f"You are not allowed to access '{model}' records.", code=4, status=403)
        fields = kwargs.get("fields") or None
        known = set(self.records[model][0]) if self.records[model] else set()
        for name in fields or ():
            if known and name not in known:  # Odoo refuses to read a field the model does not have
                raise OdooError("ValueError", f"Invalid field {name!r} on model {model!r}", code=2)
        plain_ids = kwargs.get("load", "_classic_read") != "_classic_read"
        out = []
        # no copy: every answer is serialised before it leaves, so the records are never handed out
        for rec in sorted(self.records[model], key=lambda r: r["id"]):
            if not _matches(rec, domain):
                continue
            row = {k: v for k, v in rec.items() if fields is None or k in fields or k == "id"}
            if plain_ids:
                row = {k: (v[0] if _is_m2o(v) else v) for k, v in row.items()}
            out.append(row)
        return out

    def _fields_get(self, model):
        """One model's fields, as fields_get answers (the per-model way capture does not use)."""
        out = {}
        for f in self.records["ir.model.fields"]:
            if f["model"] == model:
                out[f["name"]] = {"type": f["ttype"], "string": f["field_description"], "store": f["store"],
                                  "required": f["required"], "relation": f["relation"], "size": f["size"],
                                  "translate": f["translate"], "index": f["index"]}
        if not out:
            raise OdooError("KeyError", f"'{model}'", code=2, status=404)
        return out


def doubled(records: dict[str, list[dict]]) -> dict[str, list[dict]]:
    """The same metadata with every model present twice (a copy named ``<model>.copy``), for the
    test that capture calls do not grow with the number of models."""
    out = copy.deepcopy(records)
    shift = 10_000_000
    models = {m["id"]: m["model"] for m in records["ir.model"]}
    ren = lambda name: f"{name}.copy" if name else name  # noqa: E731
    for m in records["ir.model"]:
        out["ir.model"].append({**m, "id": m["id"] + shift, "model": ren(m["model"])})
    for f in records["ir.model.fields"]:
        out["ir.model.fields"].append({**f, "id": f["id"] + shift, "model": ren(f["model"]),
                                       "relation": ren(f["relation"]) if f["relation"] in models.values() else f["relation"],
                                       "relation_table": f"{f['relation_table']}_copy" if f["relation_table"] else False})
    for s in records["ir.model.fields.selection"]:
        fid = s["field_id"]
        out["ir.model.fields.selection"].append({**s, "id": s["id"] + shift, "field_id": [fid[0] + shift, fid[1]]})
    for c in records["ir.model.constraint"]:
        mid = c["model"]
        out["ir.model.constraint"].append({**c, "id": c["id"] + shift, "name": f"{c['name']}_copy",
                                           "model": [mid[0] + shift, mid[1]]})
    return out
