"""Capture source: a live Odoo over its RPC APIs (JSON-RPC, JSON-2 or XML-RPC).

One read plan for every protocol (``capture/transports.py``): a login (none for JSON-2), then
five batched ``search_read`` calls, whatever the number of models: ir.module.module first (the
installed version of ``base`` names the Odoo series, whose profile says which columns the other
models have), then ir.model, ir.model.fields, ir.model.fields.selection and ir.model.constraint.
Only the columns the snapshot needs are asked for, each model is read once, and many2one values
come back as plain ids (``load=''``), which spares Odoo resolving a display name per value.
ir.model.relation is not read: every relation table it lists is named, with its columns, by the
many2many fields themselves.

``--protocol auto`` (the default) picks the protocol from the server's version without a call of
its own: it logs in and reads ir.module.module over /jsonrpc (every Odoo from 16 to 19 answers
it), and when that says 19.0 or later, the four metadata reads go over JSON-2, Odoo 19's own API
(when JSON-2 refuses the secret, a password rather than an API key, they stay on /jsonrpc). A
server without /jsonrpc (Odoo 20, or 19 without the ``rpc`` module) is read over JSON-2 throughout.
So a capture is at most 6 calls on every version; 5 with ``--protocol json2``.
"""

from __future__ import annotations

from urllib.parse import urlparse

from generator.capture import profiles
from generator.capture.records import MODULE_COLUMNS, OdooMetadata, build_metadata, odoo_series
from generator.capture.transports import PROTOCOLS, TRANSPORTS, Http, HttpStatus, OdooConfig, Refused, Transport, explain
from generator.dsn import redact
from generator.errors import CaptureError, UsageError

MODULE_READ = ("ir.module.module", MODULE_COLUMNS, [["state", "=", "installed"]])
JSON2_SINCE = 19  # the first Odoo series with the JSON-2 API


def _check(config: OdooConfig) -> None:
    """What the user must give before anything is sent: a usage error (exit 2) otherwise."""
    parsed = urlparse(config.url)
    try:
        port = parsed.port
    except ValueError:
        port = -1
    if parsed.scheme not in ("http", "https") or not parsed.hostname or port == -1:
        raise UsageError(f"--odoo-url {redact(config.url)!r} is not an http(s) URL (a user and password in it must be "
                         "percent-encoded; better: give the password in ODOO_PASSWORD only)")
    if config.protocol not in PROTOCOLS:
        raise UsageError(f"--protocol {config.protocol!r} is not one of {', '.join(PROTOCOLS)}")
    for name, value in (("--odoo-db / ODOO_DATABASE", config.database), ("--odoo-user / ODOO_USER", config.user)):
        if not value:
            raise UsageError(f"{name} is not set")
    if not config.password:
        raise UsageError("ODOO_PASSWORD is not set (the password or API key is read only from the environment)")


def major(series: str) -> int:
    """'19.0' -> 19, 'saas~18.2' -> 18; 0 when unknown."""
    try:
        return int(float(series.removeprefix("saas~")))
    except ValueError:
        return 0


def _login(config: OdooConfig, http: Http) -> Transport:
    """The logged-in transport the capture starts with."""
    first = TRANSPORTS["jsonrpc" if config.protocol == "auto" else config.protocol](http, config)
    try:
        first.login()
        return first
    except HttpStatus as exc:
        if config.protocol != "auto" or exc.status != 404:
            raise explain(exc, config, first.protocol, "logging in") from None
    except Exception as exc:  # noqa: BLE001 - every failure becomes one clear message
        raise explain(exc, config, first.protocol, "logging in") from None
    return TRANSPORTS["json2"](http, config)  # no /jsonrpc here: Odoo 20, or 19 without the rpc module


def _read(transport: Transport, config: OdooConfig, model: str, columns: tuple[str, ...], domain: list) -> list[dict]:
    try:
        result = transport.search_read(model, domain, list(columns))
    except Exception as exc:  # noqa: BLE001
        raise explain(exc, config, transport.protocol, f"reading {model}") from None
    if not isinstance(result, list):
        raise CaptureError(f"Odoo at {redact(config.url)}: search_read on {model} returned {type(result).__name__}, "
                           "not a list")
    return result


def _for_series(transport: Transport, config: OdooConfig, http: Http, series: str) -> Transport:
    """auto: JSON-2 for the metadata reads when the server has it."""
    if config.protocol == "auto" and transport.protocol == "jsonrpc" and major(series) >= JSON2_SINCE:
        return _Json2OrStay(TRANSPORTS["json2"](http, config), transport)
    return transport


class _Json2OrStay:
    """JSON-2, unless it refuses the secret (a password, not an API key) or is not there (404): then
    back to ``fallback`` for good."""

    def __init__(self, json2: Transport, fallback: Transport):
        self.current, self.fallback, self.tried = json2, fallback, False

    @property
    def protocol(self) -> str:
        return self.current.protocol

    def login(self) -> None:
        """Logged in already."""

    def search_read(self, model: str, domain: list, fields: list[str]) -> list[dict]:
        if self.tried:
            return self.current.search_read(model, domain, fields)
        self.tried = True
        try:
            return self.current.search_read(model, domain, fields)
        except Refused as exc:
            if exc.kind != "login":
                raise
        except HttpStatus as exc:  # no /json/2 on this server (19.0 without it, a proxy that hides it)
            if exc.status != 404:
                raise
        self.current = self.fallback
        return self.current.search_read(model, domain, fields)


def fetch(config: OdooConfig, *, company_dependent: tuple[tuple[str, str], ...] = ()) -> OdooMetadata:
    """``company_dependent``: more (model, field) pairs to treat as company-dependent (Odoo 17.0,
    whose metadata cannot say which fields are)."""
    _check(config)
    http = Http(config.url, config.timeout)
    try:
        transport = _login(config, http)
        rows = {"ir.module.module": _read(transport, config, *MODULE_READ)}
        base = next((r for r in rows["ir.module.module"] if r.get("name") == "base"), None)
        series = odoo_series(base.get("latest_version") if base else None)
        profile = profiles.for_series(series)
        transport = _for_series(transport, config, http, series)
        for model, columns, domain in profile.read_plan(company_dependent):
            rows[model] = _read(transport, config, model, columns, domain)
    finally:
        http.close()
    module_names = {r["id"]: r["name"] for r in rows["ir.module.module"]}
    try:
        return build_metadata(rows, module_names=module_names,
                              company_dependent=profile.known_company_dependent_with(company_dependent))
    except (KeyError, TypeError) as exc:
        raise CaptureError(f"Odoo at {redact(config.url)}: unexpected record shape ({exc!r}); "
                           "is this Odoo 16 or later?") from None
