"""Capture over JSON-RPC, JSON-2 and XML-RPC: every error path gives the same clear one-line
message and exit code 3 whatever the protocol; --protocol auto picks by the server's version;
one keep-alive connection, gzip accepted."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from generator import api
from generator.capture.scope import Scope
from generator.capture.transports import OdooConfig
from generator.errors import CaptureError
from tests.support.make_fixtures import load_records
from tests.support.odoo_server import DB, PASSWORD, USER, FakeOdoo

PROTOCOLS = ("auto", "jsonrpc", "json2", "xmlrpc")
PROTOCOL_NAMES = {"auto": "JSON-RPC", "jsonrpc": "JSON-RPC", "json2": "JSON-2", "xmlrpc": "XML-RPC"}


def config(url: str, protocol: str, **over) -> OdooConfig:
    return OdooConfig(**{"url": url, "database": DB, "user": USER, "password": PASSWORD, "protocol": protocol, **over})


def capture_error(url: str, protocol: str, **over) -> str:
    with pytest.raises(CaptureError) as info:
        api.read_catalog(api.Source(odoo=config(url, protocol, **over)), api.Silent())
    message = str(info.value)
    assert "Traceback" not in message and "\n" not in message, message
    assert PASSWORD not in message or over.get("password") != PASSWORD
    return message


def cli(*args: str, password: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "generator", "capture", *args], capture_output=True, text=True,
                          env={**os.environ, "ODOO_PASSWORD": password}, stdin=subprocess.DEVNULL)


# --- login refused, unknown database: through the command line, exit code 3 ------------------------

@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("override, needle", [
    ({"password": "wrong"}, "login failed for user 'admin' on database 'odoo_test'"),
    ({"user": "nobody"}, "login failed for user 'nobody' on database 'odoo_test'"),
    ({"database": "nope"}, "database 'nope' does not exist (ODOO_DATABASE / --odoo-db)"),
])
def test_login_refused_and_unknown_database(odoo, tmp_path, protocol, override, needle):
    if protocol == "json2" and "user" in override:
        pytest.skip("JSON-2 has no login: the API key alone names the user")
    cfg = {"database": DB, "user": USER, "password": PASSWORD, **override}
    out = tmp_path / "s.json"
    proc = cli("--odoo-url", odoo.url, "--odoo-db", cfg["database"], "--odoo-user", cfg["user"],
               "--protocol", protocol, "-o", str(out), password=cfg["password"])
    assert proc.returncode == 3, proc.stderr
    assert "Traceback" not in proc.stderr and needle in proc.stderr, proc.stderr
    assert cfg["password"] not in proc.stderr
    assert not out.exists()


def test_json2_login_failure_says_an_api_key_is_needed(odoo):
    message = capture_error(odoo.url, "json2", password="a-password-not-a-key")
    assert "JSON-2 takes an API key, not a password" in message


# --- access denied, Odoo faults, models Odoo does not serve ------------------------------------

@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_access_denied(records, protocol):
    with FakeOdoo(records, denied=frozenset({"ir.model.constraint"})) as server:
        message = capture_error(server.url, protocol)
    assert message == f"Odoo at {server.url}: access denied for user 'admin' while reading ir.model.constraint"


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_odoo_fault_names_the_model_and_the_error(records, protocol):
    broken = {**records, "ir.model.fields": [{k: v for k, v in r.items() if k != "relation_table"}
                                             for r in records["ir.model.fields"]]}
    with FakeOdoo(broken) as server:
        message = capture_error(server.url, protocol)
    assert f"Odoo at {server.url}: server error while reading ir.model.fields:" in message
    assert "Invalid field 'relation_table' on model 'ir.model.fields'" in message


@pytest.mark.parametrize("protocol, needle", [
    ("json2", "JSON-2 does not serve what capture asked for while reading ir.model.constraint"),
    ("jsonrpc", "server error while reading ir.model.constraint"),
    ("xmlrpc", "server error while reading ir.model.constraint"),
])
def test_a_model_the_server_does_not_have(records, protocol, needle):
    with FakeOdoo({k: v for k, v in records.items() if k != "ir.model.constraint"}) as server:
        assert needle in capture_error(server.url, protocol)


# --- the network: timeouts, TLS, nobody listening ------------------------------------------------

@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_timeout(records, protocol):
    with FakeOdoo(records, latency=1.0) as server:
        message = capture_error(server.url, protocol, timeout=0.2)
    what = "reading ir.module.module" if protocol == "json2" else "logging in"
    assert message == f"Odoo at {server.url}: no answer within 0.2 s while {what}"


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_tls_failure(odoo, protocol):
    url = odoo.url.replace("http://", "https://")  # the server speaks plain HTTP: the handshake fails
    message = capture_error(url, protocol)
    assert message.startswith(f"cannot reach Odoo at {url}: TLS handshake failed ("), message
    assert "check the server's certificate and the scheme of --odoo-url" in message


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_nobody_listening(protocol):
    message = capture_error("http://127.0.0.1:9", protocol)
    assert message.startswith("cannot reach Odoo at http://127.0.0.1:9: "), message


def test_unknown_protocol_is_refused():
    from generator.errors import UsageError

    with pytest.raises(UsageError, match="--protocol 'soap' is not one of auto, jsonrpc, json2, xmlrpc"):
        api.read_catalog(api.Source(odoo=config("http://x", "soap")), api.Silent())


# --- auto: from the server's version, never more than 6 calls ------------------------------------

def test_auto_on_19_reads_the_metadata_over_json2():
    with FakeOdoo(load_records("19.0")) as server:
        api.read_catalog(api.Source(odoo=config(server.url, "auto")), api.Silent())
    assert list(zip(server.protocols, server.calls)) == [
        ("jsonrpc", ("common", "authenticate")),
        ("jsonrpc", ("object", "ir.module.module.search_read")),
        ("json2", ("json2", "ir.model.search_read")),
        ("json2", ("json2", "ir.model.fields.search_read")),
        ("json2", ("json2", "ir.model.fields.selection.search_read")),
        ("json2", ("json2", "ir.model.constraint.search_read")),
    ]


def test_auto_on_19_with_a_password_stays_on_jsonrpc():
    """JSON-2 takes API keys only: when it refuses the secret, the reads go on over /jsonrpc."""
    records = load_records("19.0")
    with FakeOdoo(records, api_key="an-api-key") as server:
        got = api.capture(api.Source(odoo=config(server.url, "auto")), Scope()).text
    assert server.protocols == ["jsonrpc", "jsonrpc", "json2"] + ["jsonrpc"] * 4
    with FakeOdoo(records) as server:
        assert api.capture(api.Source(odoo=config(server.url, "xmlrpc")), Scope()).text == got


def test_auto_on_19_without_json2_stays_on_jsonrpc():
    """A 19.0 whose /json/2 answers 404 (not served, or hidden by a proxy): the reads go on over /jsonrpc."""
    records = load_records("19.0")
    with FakeOdoo(records, endpoints=("xmlrpc", "jsonrpc")) as server:
        got = api.capture(api.Source(odoo=config(server.url, "auto")), Scope()).text
    assert server.protocols == ["jsonrpc"] * 6
    with FakeOdoo(records) as server:
        assert api.capture(api.Source(odoo=config(server.url, "xmlrpc")), Scope()).text == got


def test_auto_without_jsonrpc_uses_json2_throughout(records):
    """Odoo 20 (or 19 without the rpc module): /jsonrpc answers 404."""
    with FakeOdoo(records, endpoints=("json2",)) as server:
        api.read_catalog(api.Source(odoo=config(server.url, "auto")), api.Silent())
    assert server.protocols == ["json2"] * 5


@pytest.mark.parametrize("protocol", ["jsonrpc", "json2"])
def test_json_answers_come_gzipped_on_one_connection(records, protocol):
    with FakeOdoo(records) as server:
        api.read_catalog(api.Source(odoo=config(server.url, protocol)), api.Silent())
    assert server.connections == 1
    assert server.gzipped >= 4  # every metadata answer is over the threshold


def test_a_server_echoing_the_request_never_shows_the_secret(records):
    """A broken keep-alive stream makes the stdlib server echo the request line (the JSON body, with
    the password) in its error reason; the message keeps the reason but not the secret."""
    from generator.capture.transports import HttpStatus, explain

    exc = HttpStatus(400, f'Bad request syntax (\'{{"args": ["{PASSWORD}"]}}\')', "/jsonrpc")
    message = str(explain(exc, config("http://odoo", "jsonrpc"), "jsonrpc", "logging in"))
    assert PASSWORD not in message and "***" in message
