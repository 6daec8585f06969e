"""The import's SQL, rendered from ``templates/import/`` (source and target sides) and, for the
constraints and indexes a load sets aside and puts back, from the target's own operation templates
(``templates/ops/``), so they come back exactly as the migrations made them."""

from __future__ import annotations

import uuid
from functools import lru_cache

from generator import ops, render
from generator.importer import keys
from generator.importer.plan import NULL, RECORD_ID, REFERENCE, Load, Reference, Value
from generator.tables import ForeignKey, Index
from generator.target import Target

Excluded = dict[str, tuple[int, ...]]  # Odoo table -> ids of its rows that are not carried


@lru_cache(maxsize=None)
def _macros(name: str):
    return render.environment().get_template(f"import/{name}.sql.j2").module


def _text(rendered) -> str:
    return "\n".join(line for line in str(rendered).strip().splitlines() if line.strip())


def refs_of(load: Load) -> dict[str, Reference]:
    return {r.column: r for r in load.references}


def select(load: Load, tenant: uuid.UUID, excluded: Excluded) -> str:
    """The mapped rows of ``load`` from the source."""
    return _text(_macros("source").select(load, str(tenant), refs_of(load), excluded))


def copy_out_source(load: Load, tenant: uuid.UUID, excluded: Excluded) -> str:
    return f"COPY ({select(load, tenant, excluded)}) TO STDOUT (FORMAT binary)"


def counted(load: Load) -> tuple[Value, ...]:
    """The values a carried row may lose, to count per column: references outside the schema, record
    ids and references whose model has no table, many2ones to rows that are not carried."""
    refs = refs_of(load)
    return tuple(v for v in load.values if v.source and (
        v.how in (NULL, RECORD_ID, REFERENCE)
        or (v.column in refs and refs[v.column].on_delete == "SET NULL" and not refs[v.column].validated)))


def stats(load: Load, tenant: uuid.UUID, excluded: Excluded) -> str:
    return _text(_macros("source").stats(load, str(tenant), refs_of(load), excluded, counted(load)))


def property_stats(load: Load) -> str:
    return _text(_macros("source").property_stats(load.company))


def violations(load: Load) -> str:
    return _text(_macros("source").violations(load))


def gone_rows(load: Load, ref: Reference, excluded: Excluded) -> str:
    return _text(_macros("source").gone_rows(load, ref, excluded))


def delete(load: Load, tenant: uuid.UUID) -> str:
    low, high = keys.key_range(tenant, load.range_table)
    return _text(_macros("target").delete(load, str(tenant), str(low), str(high)))


def copy_in(load: Load, freeze: bool = False) -> str:
    return _text(_macros("target").copy_in(load, freeze))


def truncate(load: Load) -> str:
    return _text(_macros("target").truncate(load))


def source_fingerprint(load: Load, tenant: uuid.UUID, excluded: Excluded, method: str) -> str:
    return _text(_macros("source").fingerprint(load, str(tenant), refs_of(load), excluded, method))


def target_fingerprint(load: Load, tenant: uuid.UUID, method: str, *, imported_only: bool) -> str:
    """The tenant's rows of the table; ``imported_only``: those whose key an import made."""
    low, high = keys.key_range(tenant, load.range_table) if imported_only else (None, None)
    return _text(_macros("target").fingerprint(load, str(tenant), method, str(low) if low else None,
                                               str(high) if high else None))


def any_row(load: Load) -> str:
    return _text(_macros("target").any_row(load))


# -- constraints and indexes set aside, through the target's operation templates -----------------

def _op(op: ops.Op, target: Target) -> str:
    text = render.statement(op, target)
    return _text(_macros("target").one_block(text)) if target.one_block else text


def drop_foreign_key(table: str, fk: ForeignKey, target: Target) -> str:
    return _op(ops.DropConstraint(table=table, constraint=fk), target)


def add_foreign_key(table: str, fk: ForeignKey, target: Target) -> str:
    """NOT VALID: rows are checked by ``validate_foreign_key`` afterwards, without blocking writes."""
    return _op(ops.AddConstraint(table=table, constraint=fk, not_valid=True), target)


def validate_foreign_key(table: str, fk: ForeignKey, target: Target) -> str:
    return _op(ops.ValidateConstraint(table=table, name=fk.name), target)


def drop_index(index: Index, target: Target) -> str:
    return _op(ops.DropIndex(index=index), target)


def create_index(index: Index, target: Target) -> str:
    return _op(ops.CreateIndex(index=index), target)
