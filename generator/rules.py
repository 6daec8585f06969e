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

import difflib
import math
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
    where_in: tuple[str | int | bool, ...] | None = None
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
    # The most relations (tables, their indexes and TOAST tables) one migration file may lock: a lock
    # is held to the end of the file's transaction, and a server's lock table holds
    # max_locks_per_transaction x (max_connections + background processes) of them for all sessions
    # together (PostgreSQL's defaults: 64 x about 120). 256 fits a server started with
    # max_locks_per_transaction = 16 and max_connections = 20 while other sessions hold locks too.
    lock_budget: int = 256
    float_type: str = "numeric"
    record_ids: tuple[RecordIdRule, ...] = ()


# Durations a timeout may take: PostgreSQL keeps lock_timeout and statement_timeout in milliseconds
# in an int4, so a longer one is refused when the migration sets it (every file would fail)
MAX_TIMEOUT_MS = 2**31 - 1
_UNIT_MS = {"us": 0.001, "ms": 1, "": 1, "s": 1000, "min": 60_000, "h": 3_600_000, "d": 86_400_000}
_DURATION = re.compile(r"\s*(\d+)\s*(us|ms|s|min|h|d)?\s*")


def parse(data: dict[str, Any], source: str) -> Rules:
    """The rules of a project config. Its shape (keys, types, patterns: names matched whole) is the
    JSON Schema's business (``config_schema.check``, every problem listed at once); what a schema
    cannot say is checked here, each with the entry's place: finite numbers, min <= max, timeouts
    PostgreSQL accepts, no entry given twice. What needs the snapshot (models, fields, value types)
    is ``check_models``."""
    config_schema.check(data, "rules", source)
    indexes = tuple(_index(entry, f"{source}: index[{i}]") for i, entry in enumerate(data.get("index", [])))
    checks = tuple(_check(entry, f"{source}: check[{i}]") for i, entry in enumerate(data.get("check", [])))
    defaults = tuple(_default(entry, f"{source}: default[{i}]") for i, entry in enumerate(data.get("default", [])))
    record_ids = tuple(RecordIdRule(e["model"], e["field"], e["uuid"], f"{source}: record_id[{i}]")
                       for i, e in enumerate(data.get("record_id", [])))
    for what, entries, key in (("index", indexes, lambda r: (r.model, r.fields, r.kind, r.where_field, r.where_in,
                                                              r.where_not_null)),
                               ("check", checks, lambda r: (r.model, r.field)),
                               ("default", defaults, lambda r: (r.model, r.field)),
                               ("record_id", record_ids, lambda r: (r.model, r.field))):
        _no_duplicates(what, entries, key)
    migration = data.get("migration", {})
    timeouts = {key: duration(migration.get(key, Rules.__dataclass_fields__[key].default), f"{source}: migration.{key}")
                for key in ("lock_timeout", "statement_timeout")}
    return Rules(data.get("tenant", {}).get("setting", DEFAULT_SETTING), indexes, checks, source, defaults,
                 **timeouts, lock_budget=migration.get("lock_budget", Rules.lock_budget),
                 float_type=data.get("types", {}).get("float", "numeric"), record_ids=record_ids)


def _index(entry: dict[str, Any], at: str) -> IndexRule:
    fields = []
    for spec in entry["fields"]:  # "<field>" or "<field> desc" (the schema's pattern)
        parts = spec.split()
        fields.append((parts[0], len(parts) == 2 and parts[1].lower() == "desc"))
    kind = entry.get("kind", "btree")
    if kind == "trigram" and len(fields) != 1:
        raise UsageError(f"{at}: a trigram index takes exactly one field")
    cond = entry.get("where") or {}
    where_in = cond.get("in")
    if where_in is not None and cond.get("not_null"):
        raise UsageError(f"{at}.where: give in or not_null, not both")
    return IndexRule(entry["model"], tuple(fields), kind, cond.get("field"),
                     tuple(where_in) if where_in is not None else None, bool(cond.get("not_null", False)), at)


def _finite(value, at: str):
    if isinstance(value, float) and not math.isfinite(value):
        raise UsageError(f"{at}: {value!r} is not a finite number")
    return value


def _check(entry: dict[str, Any], at: str) -> CheckRule:
    low, high = _finite(entry.get("min"), f"{at}.min"), _finite(entry.get("max"), f"{at}.max")
    values = entry.get("in")
    if low is None and high is None and values is None:
        raise UsageError(f"{at}: give min, max or in")
    if low is not None and high is not None and low > high:
        raise UsageError(f"{at}: min {low!r} is greater than max {high!r}: only NULL would pass the CHECK")
    return CheckRule(entry["model"], entry["field"], low, high, tuple(map(str, values)) if values is not None else None,
                     at)


def _default(entry: dict[str, Any], at: str) -> DefaultRule:
    return DefaultRule(entry["model"], entry["field"], _finite(entry["value"], f"{at}.value"), at)


def duration(value: str, at: str) -> str:
    found = _DURATION.fullmatch(value)
    if not found:  # reached from --lock-timeout / --statement-timeout (in the file the schema's pattern refuses it)
        raise UsageError(f"{at}: {value!r} is not a duration such as '5s', '500ms' or '1h'")
    ms = int(found.group(1)) * _UNIT_MS[found.group(2) or ""]
    if ms > MAX_TIMEOUT_MS:
        raise UsageError(f"{at}: {value.strip()!r} is longer than PostgreSQL's longest timeout (about 24 days)")
    return value.strip()


def _no_duplicates(what: str, entries, key) -> None:
    seen: dict = {}
    for entry in entries:
        first = seen.setdefault(key(entry), entry)
        if first is not entry:
            raise UsageError(f"{entry.at}: the same {what} as {first.at.rsplit(': ', 1)[-1]}; give it once")


def load(path: str | Path | None) -> Rules:
    """``path`` None: use ./fbs-schema.toml when it exists, else no rules."""
    data, source = config_schema.load_toml(path, DEFAULT_FILE, "rules")
    return Rules() if data is None else parse(data, source)


def check_models(rules: Rules, snapshot) -> None:
    """The entries must name models and fields of the (new) snapshot: checked where rules meet the
    snapshot they are for (generate, diagram, compare-odoo), not against an older one, which may not
    have them yet. Exit 2 naming the entry."""
    models = snapshot.model_map
    named = [(r.at, r.model, [f for f, _ in r.fields] + ([r.where_field] if r.where_field else []))
             for r in rules.indexes]
    named += [(r.at, r.model, [r.field]) for r in (*rules.checks, *rules.defaults, *rules.record_ids)]
    for at, model_name, fields in named:
        model = models.get(model_name)
        if model is None:
            close = difflib.get_close_matches(model_name, list(models), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise UsageError(f"{at}: model {model_name!r} is not in the snapshot{hint}")
        for name in fields:
            if name not in model.field_map:
                close = difflib.get_close_matches(name, list(model.field_map), n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise UsageError(f"{at}: the snapshot has no field {model_name}.{name}{hint}")
    for r in rules.record_ids:
        field = models[r.model].field_map[r.field]
        if field.type != "integer":
            raise UsageError(f"{r.at}: {r.model}.{r.field} is a {field.type} field; [[record_id]] is for integer fields")
