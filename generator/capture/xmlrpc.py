"""Capture source: a live Odoo over XML-RPC.

One authenticate call plus five batched ``search_read`` calls, whatever the number of models:
ir.module.module first (the installed version of ``base`` names the Odoo series, whose profile
says which columns the other models have), then ir.model, ir.model.fields,
ir.model.fields.selection and ir.model.constraint.
Only the columns the snapshot needs are asked for, and many2one values come back as plain ids
(``load=''``), which spares Odoo resolving a display name per value. ir.model.relation is not read:
every relation table it lists is named, with its columns, by the many2many fields themselves.
"""

from __future__ import annotations

import http.client
import socket
import xmlrpc.client
from dataclasses import dataclass
from urllib.parse import urlparse
from xml.parsers.expat import ExpatError

from generator.capture import profiles
from generator.capture.records import MODULE_COLUMNS, OdooMetadata, build_metadata, odoo_series
from generator.errors import CaptureError

MODULE_READ = ("ir.module.module", MODULE_COLUMNS, [["state", "=", "installed"]])


@dataclass(frozen=True)
class XmlRpcConfig:
    url: str
    database: str
    user: str
    password: str  # never logged, never written
    timeout: float = 120.0


class _Timeout:
    """Adds a socket timeout to an xmlrpc.client transport (keep-alive stays on)."""

    def __init__(self, timeout: float):
        super().__init__(use_builtin_types=True)  # type: ignore[call-arg]
        self._timeout = timeout

    def make_connection(self, host):  # type: ignore[no-untyped-def]
        conn = super().make_connection(host)  # type: ignore[misc]
        conn.timeout = self._timeout
        return conn


class _Transport(_Timeout, xmlrpc.client.Transport):
    pass


class _SafeTransport(_Timeout, xmlrpc.client.SafeTransport):
    pass


def _proxy(config: XmlRpcConfig, endpoint: str) -> xmlrpc.client.ServerProxy:
    base = config.url.rstrip("/")
    transport = (_SafeTransport if base.startswith("https:") else _Transport)(config.timeout)
    return xmlrpc.client.ServerProxy(f"{base}/xmlrpc/2/{endpoint}", transport=transport, allow_none=True)


def _explain(exc: Exception, config: XmlRpcConfig, what: str) -> CaptureError:
    where = f"Odoo at {config.url}"
    if isinstance(exc, xmlrpc.client.Fault):
        text = str(exc.faultString).strip().splitlines()
        last = text[-1] if text else ""
        if "does not exist" in exc.faultString and "database" in exc.faultString.lower():
            return CaptureError(f"{where}: database {config.database!r} does not exist (ODOO_DATABASE / --odoo-db)")
        if "AccessDenied" in exc.faultString or "Access Denied" in exc.faultString:
            return CaptureError(f"{where}: access denied for user {config.user!r} while {what}")
        return CaptureError(f"{where}: server error while {what}: {last[:300]}")
    if isinstance(exc, xmlrpc.client.ProtocolError):
        return CaptureError(
            f"{where}: HTTP {exc.errcode} {exc.errmsg} for {exc.url.split('@')[-1]} while {what}; "
            "is this the base URL of an Odoo server (e.g. https://odoo.example.com)?"
        )
    if isinstance(exc, (ExpatError, http.client.HTTPException, xmlrpc.client.ResponseError)):
        return CaptureError(f"{where} did not answer with XML-RPC while {what} ({exc}); is this an Odoo server?")
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return CaptureError(f"{where}: no answer within {config.timeout:g} s while {what}")
    if isinstance(exc, OSError):
        return CaptureError(f"cannot reach {where}: {exc.strerror or exc}")
    return CaptureError(f"{where}: {type(exc).__name__} while {what}: {exc}")


def fetch(config: XmlRpcConfig, *, company_dependent: tuple[tuple[str, str], ...] = ()) -> OdooMetadata:
    """``company_dependent``: more (model, field) pairs to treat as company-dependent (Odoo 17.0,
    whose metadata cannot say which fields are)."""
    parsed = urlparse(config.url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise CaptureError(f"--odoo-url {config.url!r} is not an http(s) URL")
    for name, value in (("--odoo-db / ODOO_DATABASE", config.database), ("--odoo-user / ODOO_USER", config.user)):
        if not value:
            raise CaptureError(f"{name} is not set")
    if not config.password:
        raise CaptureError("ODOO_PASSWORD is not set (the password or API key is read only from the environment)")
    try:
        uid = _proxy(config, "common").authenticate(config.database, config.user, config.password, {})
    except Exception as exc:  # noqa: BLE001 - every failure becomes one clear message
        raise _explain(exc, config, "logging in") from None
    if not isinstance(uid, int) or isinstance(uid, bool) or uid <= 0:
        raise CaptureError(
            f"Odoo at {config.url}: login failed for user {config.user!r} on database {config.database!r} "
            "(check ODOO_USER and ODOO_PASSWORD)"
        )
    obj = _proxy(config, "object")
    rows: dict[str, list[dict]] = {}

    def read(model: str, columns: tuple[str, ...], domain: list) -> None:
        try:
            result = obj.execute_kw(
                config.database, uid, config.password, model, "search_read", [domain],
                {"fields": list(columns), "order": "id", "load": "", "context": {"lang": "en_US"}},
            )
        except Exception as exc:  # noqa: BLE001
            raise _explain(exc, config, f"reading {model}") from None
        if not isinstance(result, list):
            raise CaptureError(f"Odoo at {config.url}: search_read on {model} returned {type(result).__name__}, not a list")
        rows[model] = result

    read(*MODULE_READ)
    base = next((r for r in rows["ir.module.module"] if r.get("name") == "base"), None)
    profile = profiles.for_series(odoo_series(base.get("latest_version") if base else None))
    for model, columns, domain in profile.read_plan(company_dependent):
        read(model, columns, domain)
    module_names = {r["id"]: r["name"] for r in rows["ir.module.module"]}
    try:
        return build_metadata(rows, module_names=module_names,
                              company_dependent=profile.known_company_dependent_with(company_dependent))
    except (KeyError, TypeError) as exc:
        raise CaptureError(f"Odoo at {config.url}: unexpected record shape ({exc!r}); is this Odoo 16 or later?") from None
