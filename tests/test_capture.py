"""Capture: three sources, one snapshot; a constant number of calls; scope rules; bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer


import pytest

from generator import api, snapshot
from generator.capture.scope import PRESETS, Scope, select
from generator.capture.transports import OdooConfig
from generator.errors import CaptureError
from tests.support import odoo_db, reference
from tests.support.make_bundled_snapshot import BUNDLED_SCOPE, capture_from
from generator.capture.profiles import COMPANY_DEPENDENT_17, KEYLESS_TABLES, MANUAL_TABLES
from tests.support.make_fixtures import FIXTURES, load_records
from tests.support.odoo_server import DB, PASSWORD, USER, FakeOdoo, doubled

SALES = Scope(preset="sales-inventory")


def rpc_source(server: FakeOdoo, **over) -> api.Source:
    cfg = dict(url=server.url, database=DB, user=USER, password=PASSWORD)
    cfg.update(over)
    return api.Source(odoo=OdooConfig(**cfg))


@pytest.mark.parametrize("protocol", ["auto", "jsonrpc", "json2", "xmlrpc"])
def test_capture_makes_at_most_six_calls_and_does_not_grow_with_models(records, protocol):
    with FakeOdoo(records) as server:
        first = api.capture(rpc_source(server, protocol=protocol), Scope())
        calls = list(server.calls)
        assert server.connections == 1  # one keep-alive connection for the whole capture
    with FakeOdoo(doubled(records)) as server:
        second = api.capture(rpc_source(server, protocol=protocol), Scope())
        calls_doubled = list(server.calls)
    assert len(calls) <= 6, calls
    # each ir.* model is read once
    reads = [what for _, what in calls if what.endswith("search_read")]
    assert len(reads) == len(set(reads)) == 5, calls
    assert len(calls_doubled) == len(calls), (calls, calls_doubled)
    # every model twice, but for the copies of the few tables known by name (profiles.KEYLESS_TABLES):
    # "ir.actions.actions.copy" has no foreign-key row that would show it is a table
    assert len(second.snapshot.models) == 2 * len(first.snapshot.models) - len(KEYLESS_TABLES)
    assert all(what.endswith("search_read") for endpoint, what in calls if endpoint == "object")


def _text(catalog, scope: Scope) -> str:
    return snapshot.dumps(select(catalog, scope))


def test_xmlrpc_and_database_capture_are_byte_identical(records, rpc_catalog, db):
    odoo_db.load(db, records)
    db_catalog = api.read_catalog(api.Source(dsn=db), api.Silent())
    for scope in (SALES, BUNDLED_SCOPE, Scope(), Scope(modules=("stock",), with_references=True, reference_depth=0)):
        assert _text(rpc_catalog, scope) == _text(db_catalog, scope)


def test_capturing_twice_gives_identical_files(tmp_path):
    a = capture_from(FIXTURES, output=str(tmp_path / "a.json"))
    b = capture_from(FIXTURES, output=str(tmp_path / "b.json"))
    assert (tmp_path / "a.json").read_bytes() == (tmp_path / "b.json").read_bytes()
    assert a.sha256 == b.sha256


def test_bundled_snapshot_is_what_capture_produces(rpc_catalog):
    assert _text(rpc_catalog, BUNDLED_SCOPE) == api.BUNDLED_SNAPSHOT.read_text("utf-8")


def test_snapshot_from_snapshot_refilters_to_the_same_result(rpc_catalog, tmp_path):
    (tmp_path / "all.json").write_text(_text(rpc_catalog, Scope()), "utf-8")
    for scope in (BUNDLED_SCOPE, SALES, Scope(modules=("stock", "uom"))):
        refiltered = api.capture(api.Source(snapshot_path=str(tmp_path / "all.json")), scope).text
        assert refiltered == _text(rpc_catalog, scope)


def _expected_scope(records: dict, modules: set[str]) -> dict[str, set[str]]:
    """Independent reading of the rules: models created by the modules, and their stored fields
    (not one2many, not id) that the modules contribute."""
    fields_by_model: dict[str, dict] = {}
    for f in records["ir.model.fields"]:
        fields_by_model.setdefault(f["model"], {})[f["name"]] = f
    keyed_model_ids = {c["model"][0] for c in records["ir.model.constraint"] if c["type"] in ("f", "u")}
    out = {}
    for m in records["ir.model"]:
        fields = fields_by_model.get(m["model"], {})
        if m["transient"] or "id" not in fields or m["model"] in MANUAL_TABLES:
            continue
        if m["id"] not in keyed_model_ids and m["model"] not in KEYLESS_TABLES:
            continue
        if fields["id"]["modules"] not in modules:
            continue
        out[m["model"]] = {
            name for name, f in fields.items()
            if (f["store"] or (m["model"], name) in COMPANY_DEPENDENT_17) and f["ttype"] != "one2many" and name != "id"
            and modules & {x.strip() for x in f["modules"].split(",")}
        }
    return out


def test_sales_inventory_snapshot_has_every_model_and_field_of_its_modules(records, rpc_catalog):
    snap = select(rpc_catalog, SALES)
    expected = _expected_scope(records, set(PRESETS["sales-inventory"]))
    got = {m.name: {f.name for f in m.fields} for m in snap.models}
    for model in ("sale.order", "sale.order.line", "purchase.order", "purchase.order.line", "stock.move",
                  "stock.picking", "stock.quant", "product.template", "product.product", "uom.uom"):
        assert model in got, model
    assert got == expected
    # magic columns are there
    assert {"create_uid", "create_date", "write_uid", "write_date"} <= got["sale.order"]
    # a field that a module outside the selection adds is not
    assert "sale_line_id" not in got["stock.move"]  # from sale_stock


def test_selection_values_equal_ir_model_fields_selection_in_order(records, rpc_catalog):
    snap = select(rpc_catalog, SALES)
    field_ids = {(f["model"], f["name"]): f["id"] for f in records["ir.model.fields"]}
    rows: dict[int, list] = {}
    for s in sorted(records["ir.model.fields.selection"], key=lambda s: (s["sequence"], s["value"])):
        rows.setdefault(s["field_id"][0], []).append(s["value"])
    checked = 0
    for m in snap.models:
        for f in m.fields:
            if f.type == "selection":
                assert [s.value for s in f.selection] == rows.get(field_ids[(m.name, f.name)], []), (m.name, f.name)
                checked += 1
    assert checked > 50


def test_snapshot_carries_no_help_texts_or_credentials(records, bundled):
    text = api.BUNDLED_SNAPSHOT.read_text("utf-8")
    assert PASSWORD not in text and '"help"' not in text
    data = json.loads(text)
    assert set(data) == {"format", "odoo_version", "modules", "preset", "with_references", "external_models", "models",
                         "tableless_models"}
    assert data["format"] == 1 and data["odoo_version"] == "17.0"


@pytest.mark.skipif(not reference.available(), reason="the Odoo 17 reference export (../shared) is not beside the project")
def test_database_capture_of_odoos_own_ir_tables_matches_xmlrpc(db):
    """Odoo's real ir_model* rows and ir_model_data (from its pg_dump), read with --odoo-dsn, give the
    same snapshot as the XML-RPC capture of the same server's export."""
    reference.load_odoo_dump(db)
    db_catalog = api.read_catalog(api.Source(dsn=db), api.Silent())
    with FakeOdoo(load_records(reference.REFERENCE)) as server:
        ref_catalog = api.read_catalog(rpc_source(server), api.Silent())
    for scope in (BUNDLED_SCOPE, Scope()):
        assert _text(db_catalog, scope) == _text(ref_catalog, scope)


# --- bad input ---------------------------------------------------------------------------------

def _cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "generator", *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, stdin=subprocess.DEVNULL)


def _assert_clean_failure(proc: subprocess.CompletedProcess, *needles: str) -> None:
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr, proc.stderr
    for needle in needles:
        assert needle in proc.stderr, proc.stderr


@pytest.mark.parametrize(
    "override, needle",
    [
        ({"password": "wrong"}, "login failed for user 'admin'"),
        ({"user": "nobody"}, "login failed for user 'nobody'"),
        ({"database": "nope"}, "database 'nope' does not exist"),
    ],
)
def test_wrong_credentials_or_database(odoo, tmp_path, override, needle):
    out = tmp_path / "s.json"
    cfg = {"url": odoo.url, "database": DB, "user": USER, "password": PASSWORD, **override}
    proc = _cli("capture", "--odoo-url", cfg["url"], "--odoo-db", cfg["database"], "--odoo-user", cfg["user"],
                "-o", str(out), env={"ODOO_PASSWORD": cfg["password"]})
    _assert_clean_failure(proc, needle)
    assert not out.exists() and not list(tmp_path.iterdir())
    assert cfg["password"] not in proc.stderr


def test_unreachable_url(tmp_path):
    proc = _cli("capture", "--odoo-url", "http://127.0.0.1:9", "--odoo-db", DB, "--odoo-user", USER,
                "-o", str(tmp_path / "s.json"), env={"ODOO_PASSWORD": "x"})
    _assert_clean_failure(proc, "cannot reach Odoo at http://127.0.0.1:9")


class _Html(BaseHTTPRequestHandler):
    """A web server that is not Odoo: 200 and an HTML page for every POST (or 404 for every POST)."""

    status = 200

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = b"<html><body>Welcome to nginx</body></html>"
        self.send_response(self.status)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *a):
        pass


class _Html404(_Html):
    status = 404


@pytest.mark.parametrize("handler, protocol, needles", [
    (_Html, "auto", ("did not answer with JSON-RPC", "is this an Odoo server?")),
    (_Html, "jsonrpc", ("did not answer with JSON-RPC", "is this an Odoo server?")),
    (_Html, "json2", ("did not answer with JSON-2", "is this an Odoo server?")),
    (_Html, "xmlrpc", ("did not answer with XML-RPC", "is this an Odoo server?")),
    (_Html404, "auto", ("HTTP 404 Not Found for /json/2/ir.module.module/search_read", "base URL of an Odoo server")),
    (_Html404, "jsonrpc", ("HTTP 404 Not Found for /jsonrpc", "base URL of an Odoo server")),
    (_Html404, "xmlrpc", ("HTTP 404 Not Found for /xmlrpc/2/common", "base URL of an Odoo server")),
])
def test_a_server_that_is_not_odoo(tmp_path, handler, protocol, needles):
    server = HTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        proc = _cli("capture", "--odoo-url", url, "--odoo-db", DB, "--odoo-user", USER, "--protocol", protocol,
                    "-o", str(tmp_path / "s.json"), env={"ODOO_PASSWORD": "x"})
    finally:
        server.shutdown()
    _assert_clean_failure(proc, *needles)
    assert proc.returncode == 3


def test_module_not_installed(odoo, tmp_path):
    proc = _cli("capture", "--odoo-url", odoo.url, "--odoo-db", DB, "--odoo-user", USER, "--modules", "stock,salee",
                "-o", str(tmp_path / "s.json"), env={"ODOO_PASSWORD": PASSWORD})
    _assert_clean_failure(proc, "module 'salee' is not installed", "did you mean sale")
    assert not list(tmp_path.iterdir())


def test_missing_password_and_missing_source(tmp_path):
    """Usage mistakes: exit 2, before anything is sent."""
    env = {k: "" for k in ("ODOO_PASSWORD", "ODOO_BASE_URL", "ODOO_DSN")}
    for args, needle in (((), "ODOO_PASSWORD is not set"), (("--odoo-db", ""), "--odoo-db / ODOO_DATABASE is not set")):
        proc = _cli("capture", "--odoo-url", "http://x", "--odoo-db", "d", "--odoo-user", "u", *args, env=env)
        _assert_clean_failure(proc, needle)
        assert proc.returncode == 2
    proc = _cli("capture", env=env)
    _assert_clean_failure(proc, "give exactly one source")
    assert proc.returncode == 2


def test_database_that_is_not_odoo(db, tmp_path):
    proc = _cli("capture", "--odoo-dsn", db, "-o", str(tmp_path / "s.json"))
    _assert_clean_failure(proc, "has no table ir_", "is it an Odoo database?")


def test_select_unknown_module_raises_in_library(records):
    with FakeOdoo(records) as server, pytest.raises(CaptureError, match="not installed"):
        api.capture(rpc_source(server), Scope(modules=("does_not_exist",)))


def test_dsn_password_never_printed(tmp_path):
    proc = _cli("capture", "--odoo-dsn", "postgresql://u:s3cr3t-pw@127.0.0.1:9/db", "-o", str(tmp_path / "s.json"))
    _assert_clean_failure(proc, "cannot connect to the Odoo database")
    assert "s3cr3t-pw" not in proc.stderr


