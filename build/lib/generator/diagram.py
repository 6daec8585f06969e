"""`fbs-schema diagram`: the generated schema as a Mermaid entity-relationship diagram.

Rendered from the physical schema (tenant rules applied) through templates/diagram.mmd.j2: tables,
their key columns (or all, or none), and one relationship per foreign key, `}o--||` when the column
is required and `}o--o|` when it may be empty. Tables outside the chosen set that the chosen ones
point at appear only in the relationships (Mermaid declares an entity by naming it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from generator.errors import UsageError
from generator.render import environment
from generator.tables import Schema, Table


@dataclass(frozen=True)
class _Column:
    type: str
    name: str
    key: str


@dataclass(frozen=True)
class _Table:
    name: str
    columns: tuple[_Column, ...]


@dataclass(frozen=True)
class _Relation:
    child: str
    parent: str
    shape: str
    label: str


def _word(text: str) -> str:
    """Mermaid attribute types and names are single words."""
    return re.sub(r"[^A-Za-z0-9_]+", "_", text).strip("_") or "x"


def _columns(t: Table, which: str, keep=lambda fk: True) -> tuple[_Column, ...]:
    fk_cols = {fk.columns[-1] for fk in t.foreign_keys if keep(fk)}
    out = []
    for c in t.columns:
        key = "PK" if c.name in t.primary_key else "FK" if c.name in fk_cols else ""
        if which == "all" or (which == "keys" and key):
            out.append(_Column(_word(c.type.replace("character varying", "varchar")), _word(c.name), key))
    return tuple(out)


def select_tables(schema: Schema, *, module: str | None = None, tables: tuple[str, ...] = ()) -> list[Table]:
    if tables:
        missing = [t for t in tables if schema.table(t) is None]
        if missing:
            raise UsageError(f"no table {', '.join(missing)} in the schema")
        return [schema.table(t) for t in tables]
    if module:
        chosen = [t for t in schema.tables if t.module == module]
        if not chosen:
            known = sorted({t.module for t in schema.tables})
            raise UsageError(f"no table of module {module!r} in the schema (modules: {', '.join(known)})")
        return chosen
    return list(schema.tables)


def render(schema: Schema, chosen: list[Table], columns: str = "keys", internal: bool = False) -> str:
    """``internal``: only the relationships between the chosen tables (no stubs)."""
    names = {t.name for t in chosen}
    keep = (lambda fk: fk.ref_table in names) if internal else (lambda fk: True)
    drawn = [_Table(_word(t.name), _columns(t, columns, keep)) for t in chosen]
    relations = []
    stubs: set[str] = set()
    for t in chosen:
        for fk in filter(keep, t.foreign_keys):
            col = t.column(fk.columns[-1])
            required = col is not None and col.not_null
            relations.append(_Relation(_word(t.name), _word(fk.ref_table), "}o--||" if required else "}o--o|",
                                       fk.columns[-1].replace('"', "'")))
            if fk.ref_table not in names:
                stubs.add(fk.ref_table)
    drawn += [_Table(_word(name), ()) for name in sorted(stubs)]
    text = environment().get_template("diagram.mmd.j2").render(tables=drawn, relations=relations)
    return text.rstrip("\n") + "\n"
