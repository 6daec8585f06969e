"""A local XML-RPC server that speaks Odoo's ``common`` and ``object`` endpoints over real HTTP.

It serves ir.* records (as Odoo's XML-RPC returns them) for tests and benchmarks, counts every
call, can add a per-call latency (to stand for a remote Odoo), and implements what capture uses:
``authenticate``, ``version``, ``execute_kw(..., 'search_read' | 'fields_get', ...)`` with simple
domains, ``fields``, ``order`` and Odoo's ``load`` keyword (``load=''`` returns many2one values as ids).
"""

from __future__ import annotations

import copy
import threading
import time
import xmlrpc.client
from socketserver import ThreadingMixIn
from xmlrpc.server import MultiPathXMLRPCServer, SimpleXMLRPCDispatcher, SimpleXMLRPCRequestHandler

DB, USER, PASSWORD, UID = "odoo_test", "admin", "secret-password", 2


class _Handler(SimpleXMLRPCRequestHandler):
    rpc_paths = ("/xmlrpc/2/common", "/xmlrpc/2/object")
    protocol_version = "HTTP/1.1"  # keep-alive, like Odoo behind werkzeug

    def log_message(self, *args):  # quiet
        pass


class _Server(ThreadingMixIn, MultiPathXMLRPCServer):
    daemon_threads = True
    allow_reuse_address = True


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
    raise xmlrpc.client.Fault(1, f"unsupported domain operator {op!r}")


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
                 db: str = DB, user: str = USER, password: str = PASSWORD):
        self.records = records
        self.latency = latency
        self.db, self.user, self.password = db, user, password
        self.calls: list[tuple[str, str]] = []  # (endpoint, method or model.method)
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), requestHandler=_Handler, allow_none=True, logRequests=False)
        common = SimpleXMLRPCDispatcher(allow_none=True, encoding=None)
        common.register_function(self._authenticate, "authenticate")
        common.register_function(self._login, "login")
        common.register_function(self._version, "version")
        obj = SimpleXMLRPCDispatcher(allow_none=True, encoding=None)
        obj.register_function(self._execute_kw, "execute_kw")
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

    def _count(self, endpoint: str, what: str) -> None:
        with self._lock:
            self.calls.append((endpoint, what))
        if self.latency:
            time.sleep(self.latency)

    # --- common ---------------------------------------------------------------------------
    def _version(self):
        self._count("common", "version")
        return {"server_version": "17.0", "server_version_info": [17, 0, 0, "final", 0, ""],
                "server_serie": "17.0", "protocol_version": 1}

    def _check_db(self, db):
        if db != self.db:
            raise xmlrpc.client.Fault(1, f'psycopg2.OperationalError: connection failed: FATAL:  database "{db}" does not exist')

    def _authenticate(self, db, login, password, env):
        self._count("common", "authenticate")
        self._check_db(db)
        return UID if (login, password) == (self.user, self.password) else False

    def _login(self, db, login, password):
        return self._authenticate(db, login, password, {})

    # --- object ---------------------------------------------------------------------------
    def _execute_kw(self, db, uid, password, model, method, args, kwargs=None):
        self._count("object", f"{model}.{method}")
        self._check_db(db)
        if uid != UID or password != self.password:
            raise xmlrpc.client.Fault(3, "odoo.exceptions.AccessDenied: Access Denied")
        kwargs = kwargs or {}
        if method == "search_read":
            return self._search_read(model, args[0] if args else kwargs.get("domain", []), kwargs)
        if method == "fields_get":
            return self._fields_get(model)
        raise xmlrpc.client.Fault(2, f"method {method!r} of {model!r} not served by the test server")

    def _search_read(self, model, domain, kwargs):
        if model not in self.records:
            raise xmlrpc.client.Fault(2, f"KeyError: '{model}'")
        fields = kwargs.get("fields") or None
        known = set(self.records[model][0]) if self.records[model] else set()
        for name in fields or ():
            if known and name not in known:  # Odoo refuses to read a field the model does not have
                raise xmlrpc.client.Fault(2, f"ValueError: Invalid field {name!r} on model {model!r}")
        plain_ids = kwargs.get("load", "_classic_read") != "_classic_read"
        out = []
        for rec in sorted(self.records[model], key=lambda r: r["id"]):
            if not _matches(rec, domain):
                continue
            row = {k: v for k, v in rec.items() if fields is None or k in fields or k == "id"}
            if plain_ids:
                row = {k: (v[0] if _is_m2o(v) else v) for k, v in row.items()}
            out.append(copy.deepcopy(row))
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
            raise xmlrpc.client.Fault(2, f"KeyError: '{model}'")
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
