"""The optional per-project rules file (``fbs-schema.toml``): extra indexes and CHECKs, and the
session setting that row-level security reads. Structured data only: no SQL is taken from it.

    [tenant]
    setting = "app.tenant_id"        # the session setting RLS compares tenant_id with

    [migration]                      # SET LOCAL at the top of every transactional migration
    lock_timeout = "5s"
    statement_timeout = "1h"

    [[index]]                        # always led by tenant_id
    model = "sale.order"
    fields = ["date_order desc"]     # "<field>" or "<field> desc"
    kind = "btree"                   # btree (default) | trigram (one field; GIN, needs pg_trgm)
    where = { field = "state", in = ["sale", "done"] }   # optional; or { field = "x", not_null = true }

    [[check]]
    model = "sale.order.line"
    field = "price_unit"
    min = 0                          # and/or max = ...; or in = ["a", "b"]

    [[default]]                      # the value existing rows get when a required field is added
    model = "res.company"            # to a table that already exists (the column keeps no default)
    field = "po_lead"
    value = 0

    [types]
    float = "numeric"                # or "double precision" (Odoo's type for floats without digits)

    [[record_id]]                    # an integer field that holds another row's id: uuid = true
    model = "mail.alias"             # makes it a uuid column, uuid = false keeps it integer
    field = "alias_force_thread_id"  # (default: see tenant.is_record_id)
    uuid = false
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from generator import config_schema
from generator.errors import UsageError

DEFAULT_FILE = "fbs-schema.toml"
DEFAULT_SETTING = "app.tenant_id"


@dataclass(frozen=True)
class IndexRule:
    model: str
    fields: tuple[tuple[str, bool], ...]  # (field, descending)
    kind: str = "btree"
    where_field: str | None = None
    where_in: tuple[str, ...] | None = None
    where_not_null: bool = False
    at: str = ""  # the entry's place in the file, for messages


@dataclass(frozen=True)
class CheckRule:
    model: str
    field: str
    min: float | int | None = None
    max: float | int | None = None
    values: tuple[str, ...] | None = None
    at: str = ""


@dataclass(frozen=True)
class DefaultRule:
    model: str
    field: str
    value: str | int | float | bool
    at: str = ""


@dataclass(frozen=True)
class RecordIdRule:
    model: str
    field: str
    uuid: bool
    at: str = ""


FLOAT_TYPES = ("numeric", "double precision")


@dataclass(frozen=True)
class Rules:
    setting: str = DEFAULT_SETTING
    indexes: tuple[IndexRule, ...] = ()
    checks: tuple[CheckRule, ...] = ()
    source: str = ""
    defaults: tuple[DefaultRule, ...] = ()
    lock_timeout: str = "5s"
    statement_timeout: str = "1h"
    float_type: str = "numeric"
    record_ids: tuple[RecordIdRule, ...] = ()


def _need(entry: dict[str, Any], key: str, kind: type, at: str) -> Any:
    if key not in entry:
        raise UsageError(f"{at}: missing key {key!r}")
    value = entry[key]
    if not isinstance(value, kind):
        raise UsageError(f"{at}.{key}: expected {kind.__name__}, got {type(value).__name__}")
    return value


def parse(data: dict[str, Any], source: str) -> Rules:
    config_schema.check(data, "rules", source)
    setting = data.get("tenant", {}).get("setting", DEFAULT_SETTING)
    if not isinstance(setting, str) or "." not in setting:
        raise UsageError(f"{source}: tenant.setting must be a custom setting name like 'app.tenant_id'")
    indexes = []
    for i, entry in enumerate(data.get("index", [])):
        at = f"{source}: index[{i}]"
        model = _need(entry, "model", str, at)
        fields = []
        for spec in _need(entry, "fields", list, at):
            parts = str(spec).split()
            if len(parts) not in (1, 2) or (len(parts) == 2 and parts[1].lower() not in ("asc", "desc")):
                raise UsageError(f"{at}.fields: {spec!r} is not '<field>' or '<field> desc'")
            fields.append((parts[0], len(parts) == 2 and parts[1].lower() == "desc"))
        kind = entry.get("kind", "btree")
        if kind not in ("btree", "trigram"):
            raise UsageError(f"{at}.kind: {kind!r} is not btree or trigram")
        if kind == "trigram" and len(fields) != 1:
            raise UsageError(f"{at}: a trigram index takes exactly one field")
        cond = entry.get("where") or {}
        where_in = cond.get("in")
        indexes.append(
            IndexRule(model, tuple(fields), kind, cond.get("field"),
                      tuple(map(str, where_in)) if where_in is not None else None,
                      bool(cond.get("not_null", False)), at)
        )
    checks = []
    for i, entry in enumerate(data.get("check", [])):
        at = f"{source}: check[{i}]"
        values = entry.get("in")
        rule = CheckRule(_need(entry, "model", str, at), _need(entry, "field", str, at), entry.get("min"),
                         entry.get("max"), tuple(map(str, values)) if values is not None else None, at)
        if rule.min is None and rule.max is None and rule.values is None:
            raise UsageError(f"{at}: give min, max or in")
        checks.append(rule)
    defaults = []
    for i, entry in enumerate(data.get("default", [])):
        at = f"{source}: default[{i}]"
        if "value" not in entry or not isinstance(entry["value"], (str, int, float, bool)):
            raise UsageError(f"{at}: missing text, number or boolean key 'value'")
        defaults.append(DefaultRule(_need(entry, "model", str, at), _need(entry, "field", str, at),
                                    entry["value"], at))
    types = data.get("types", {})
    if not isinstance(types, dict):
        raise UsageError(f"{source}: [types] must be a table")
    for key in types:
        if key != "float":
            raise UsageError(f"{source}: types.{key}: unknown key (known: float)")
    float_type = types.get("float", "numeric")
    if float_type not in FLOAT_TYPES:
        raise UsageError(f"{source}: types.float must be one of {', '.join(repr(t) for t in FLOAT_TYPES)}, not {float_type!r}")
    record_ids = []
    entries = data.get("record_id", [])
    if not isinstance(entries, list):
        raise UsageError(f"{source}: record_id must be an array of tables ([[record_id]])")
    for i, entry in enumerate(entries):
        at = f"{source}: record_id[{i}]"
        if not isinstance(entry, dict):
            raise UsageError(f"{at}: expected a table with model, field and uuid")
        for key in entry:
            if key not in ("model", "field", "uuid"):
                raise UsageError(f"{at}.{key}: unknown key (known: model, field, uuid)")
        record_ids.append(RecordIdRule(_need(entry, "model", str, at), _need(entry, "field", str, at),
                                       _need(entry, "uuid", bool, at), at))
    migration = data.get("migration", {})
    timeouts = {}
    for key in ("lock_timeout", "statement_timeout"):
        value = migration.get(key, Rules.__dataclass_fields__[key].default)
        if not isinstance(value, str) or not re.fullmatch(r"\d+\s*(us|ms|s|min|h|d)?", value.strip()):
            raise UsageError(f"{source}: migration.{key} must be a duration such as '5s', '500ms' or '1h'")
        timeouts[key] = value.strip()
    return Rules(setting, tuple(indexes), tuple(checks), source, tuple(defaults), **timeouts,
                 float_type=float_type, record_ids=tuple(record_ids))


def load(path: str | Path | None) -> Rules:
    """``path`` None: use ./fbs-schema.toml when it exists, else no rules."""
    data, source = config_schema.load_toml(path, DEFAULT_FILE, "rules")
    return Rules() if data is None else parse(data, source)


def check_defaults(rules: Rules, models: dict) -> None:
    """[[default]] entries must name a field of the (new) snapshot; the old one may not have it yet."""
    for d in rules.defaults:
        model = models.get(d.model)
        if model is None or d.field not in model.field_map:
            raise UsageError(f"{d.at}: the snapshot has no field {d.model}.{d.field}")
