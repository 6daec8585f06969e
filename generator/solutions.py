"""Solutions: several module selections, each in its own database, schema or table prefix, declared
in the project config (``fbs-schema.toml``, beside the rules):

    [solution.sales]
    preset = "sales"                         # or modules = ["sale", "stock"]
    with_references = true
    database_url_env = "SALES_DATABASE_URL"  # the URL itself stays in the environment

    [solution.inventory]
    preset = "inventory"
    database_url_env = "SHARED_DATABASE_URL"
    schema = "inventory"

    [solution.purchase]
    preset = "purchase"
    database_url_env = "SHARED_DATABASE_URL"
    prefix = "pur_"

The file's shape is declared in ``generator/schema/rules.schema.json`` and checked before anything
reads it; what JSON Schema cannot say (a known preset, one selection, no two solutions sharing a
folder, a ledger or a table, the environment variables set) is checked here, all before any
database is touched. Every error names the key (exit 2).

A solution's rules are the shared ones with each key it sets (``index``, ``check``, ``default``,
``record_id``, ``tenant``, ``migration``, ``types``) replacing the shared key of that name.
"""

from __future__ import annotations

import json
import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from generator import config_schema
from generator import rules as rules_mod
from generator.capture import scope as scoping
from generator.errors import UsageError
from generator.placement import Placement

RULE_KEYS = ("tenant", "migration", "types", "index", "check", "default", "record_id")
DEFAULT_SCHEMA = "public"  # what a solution without `schema` shares with others in its database


@dataclass(frozen=True)
class Solution:
    name: str
    scope: scoping.Scope
    target: str
    database_url_env: str
    placement: Placement
    migrations_dir: Path
    rules: rules_mod.Rules  # the shared rules with the solution's own keys in their place
    rules_text: str  # those rules as TOML, kept beside the migrations ("" = no rules)
    config: str  # the config file, for messages

    @property
    def key(self) -> str:
        return f"solution.{self.name}"

    def database_url(self) -> str:
        url = os.environ.get(self.database_url_env, "")
        if not url:
            raise UsageError(f"{self.config}: {self.key}.database_url_env: the environment variable "
                             f"{self.database_url_env} is not set")
        return url

    def selection(self) -> str:
        what = f"preset {self.scope.preset}" if self.scope.preset else f"modules {', '.join(self.scope.modules)}"
        if self.scope.with_references:
            depth = self.scope.reference_depth
            what += " + references" + (" (closure)" if depth == 0 else f" ({depth} hop{'s' if depth > 1 else ''})")
        return what


@dataclass(frozen=True)
class Config:
    path: str
    solutions: tuple[Solution, ...]  # in the file's order

    def get(self, name: str) -> Solution:
        for s in self.solutions:
            if s.name == name:
                return s
        known = ", ".join(s.name for s in self.solutions) or "none"
        raise UsageError(f"{self.path}: no [solution.{name}] (solutions: {known})")


def load(path: str | Path | None = None) -> Config:
    """The solutions of the config file (``path`` None: ./fbs-schema.toml). No database is touched."""
    data, source = config_schema.load_toml(path, rules_mod.DEFAULT_FILE, "config")
    if data is None:
        raise UsageError(f"--solution and --all need a config file: {rules_mod.DEFAULT_FILE} with [solution.NAME] "
                         "sections (see README, 'Several solutions'), or --config FILE")
    config_schema.check(data, "rules", source)
    if not data.get("solution"):
        raise UsageError(f"{source}: no [solution.NAME] section")
    base = Path(source).parent
    shared = {k: v for k, v in data.items() if k in RULE_KEYS}
    solutions = tuple(_solution(name, entry, shared, base, source) for name, entry in data["solution"].items())
    _check_collisions(solutions, source)
    return Config(source, solutions)


def select(config: Config, name: str | None, every: bool) -> tuple[Solution, ...]:
    if name and every:
        raise UsageError("give --solution NAME or --all, not both")
    return config.solutions if every else (config.get(name),)


def check_databases(solutions: tuple[Solution, ...]) -> None:
    """Every solution's URL variable is set (before any of them is touched)."""
    for s in solutions:
        s.database_url()


def _solution(name: str, entry: dict[str, Any], shared: dict[str, Any], base: Path, source: str) -> Solution:
    key = f"solution.{name}"
    preset, modules = entry.get("preset"), tuple(entry.get("modules", ()))
    if preset and modules:
        raise UsageError(f"{source}: {key}.modules: give preset or modules, not both")
    if not preset and not modules:
        raise UsageError(f"{source}: {key}: missing key preset (or modules)")
    if preset and preset not in scoping.PRESETS:
        raise UsageError(f"{source}: {key}.preset: {preset!r} is not one of {', '.join(sorted(scoping.PRESETS))}")
    with_references = entry.get("with_references", False)
    if "reference_depth" in entry and not with_references:
        raise UsageError(f"{source}: {key}.reference_depth goes with with_references = true")
    target = entry.get("target", "postgres")  # one of target.TARGETS (the JSON Schema says which)
    own = {k: entry[k] for k in RULE_KEYS if k in entry}
    effective = {**shared, **own}
    rules = rules_mod.parse(effective, f"{source}: {key}") if effective else rules_mod.Rules()
    text = dumps_toml(effective) if effective else ""
    folder = Path(entry.get("migrations", f"migrations/{name}"))
    return Solution(
        name=name,
        scope=scoping.Scope(modules=tuple(sorted(modules)), preset=preset, with_references=with_references,
                            reference_depth=entry.get("reference_depth", 1)),
        target=target,
        database_url_env=entry["database_url_env"],
        placement=Placement(schema=entry.get("schema"), prefix=entry.get("prefix", "")),
        migrations_dir=folder if folder.is_absolute() else base / folder,
        rules=rules,
        rules_text=text,
        config=source,
    )


def _database(s: Solution) -> tuple:
    """Which database a solution lives in: the server and name its URL gives when the variable is
    set (two variables can name one database), else the variable's name."""
    url = os.environ.get(s.database_url_env)
    if url:
        try:
            from psycopg.conninfo import conninfo_to_dict  # only the parser; no connection

            info = conninfo_to_dict(url)
            return ("url", info.get("host", ""), str(info.get("port", "")), info.get("dbname", ""))
        except Exception:
            pass
    return ("env", s.database_url_env)


def _check_collisions(solutions: tuple[Solution, ...], source: str) -> None:
    folders: dict[Path, Solution] = {}
    ledgers: dict[tuple, Solution] = {}
    for s in solutions:
        other = folders.setdefault(s.migrations_dir.resolve(), s)
        if other is not s:
            raise UsageError(f"{source}: {s.key}.migrations: {s.migrations_dir} is already the folder of {other.key}")
        place = (_database(s), s.placement.schema or DEFAULT_SCHEMA)
        other = ledgers.setdefault(place, s)
        if other is not s:
            key = "schema" if s.placement.schema else "prefix" if s.placement.prefix else "database_url_env"
            tables = ""
            if s.placement.prefix != other.placement.prefix and s.placement.prefix and other.placement.prefix and (
                    s.placement.prefix.startswith(other.placement.prefix)
                    or other.placement.prefix.startswith(s.placement.prefix)):
                tables = (f"; and prefix {s.placement.prefix!r} after {other.placement.prefix!r} can give the same "
                          "table name")
            elif s.placement.prefix == other.placement.prefix:
                tables = "; and their tables would have the same names"
            raise UsageError(
                f"{source}: {s.key}.{key}: {s.key} and {other.key} would share database "
                f"{s.database_url_env} and schema {place[1]!r}, so one _sqlx_migrations ledger and one migration "
                f"lock{tables}; give one of them its own schema (schema = \"{s.name}\") or database"
            )


# ---------------------------------------------------------------------------------------------
# the rules in force for a solution, as the TOML kept beside its migrations

def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value).replace("\x7f", "\\u007f")  # a JSON string is a TOML basic string
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"cannot write {value!r} as TOML")


def dumps_toml(data: dict[str, Any]) -> str:
    """Rules data (keys as the JSON Schema allows them) as TOML that reads back equal."""
    lines = ["# The rules in force for this solution (the shared rules with its own keys in their place),",
             "# written by fbs-schema generate from the project config. Do not edit: edit the config."]
    empty = [key for key in RULE_KEYS if data.get(key) == []]  # top-level keys come before any table
    if empty:
        lines += [""] + [f"{key} = []" for key in empty]
    for key in RULE_KEYS:
        value = data.get(key)
        if isinstance(value, dict):
            lines += ["", f"[{key}]"] + [f"{k} = {_toml_value(v)}" for k, v in value.items()]
        elif value:
            for entry in value:
                lines += ["", f"[[{key}]]"] + [f"{k} = {_toml_value(v)}" for k, v in entry.items()]
    text = "\n".join(lines) + "\n"
    if tomllib.loads(text) != {k: data[k] for k in RULE_KEYS if k in data}:
        raise UsageError("the solution's rules cannot be written back as TOML exactly")  # never expected
    return text
