"""The database a migrations folder is written for, as data (a leaf module: every stage may import it).

A ``Target`` is a frozen value handed to every render (and to lint and the runner): its name and the
capabilities the SQL depends on. Every target renders through the same templates
(``generator/templates/``), which read these flags (``target.idempotent_ddl``,
``target.hash_primary_key`` ...) where the SQL differs. The target of a folder is kept beside its
snapshot in ``fbs-target.json``; a folder without that file is a PostgreSQL folder. Nothing else in
the pipeline asks "which database is this?": the tenant rules and the diff are the same for every
target, only the rendered SQL differs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from generator.errors import UsageError

KEPT_TARGET = "fbs-target.json"


class LockKind(Enum):
    """How the runner keeps a second runner out (``generator.runner.ledger`` maps each to its strategy)."""

    ADVISORY = "advisory"  # sqlx's key, taken with pg_try_advisory_lock and polled
    TABLE = "table"  # row 1 of _fbs_migration_lock, locked FOR UPDATE NOWAIT by a second connection


@dataclass(frozen=True)
class Target:
    name: str
    label: str  # for file headers and messages
    # Template folders (under generator/templates/) searched before the shared ones, in order: only for a
    # syntax difference too large for a flag (none today). A folder missing from an installed package is
    # a RenderError, never a silent fallback to the shared (PostgreSQL) templates.
    templates: tuple[str, ...] = ()
    # ON DELETE SET NULL (col) on a tenant-scoped foreign key is accepted. When not, a set null
    # relation is a foreign key without an ON DELETE action plus an AFTER DELETE trigger on the
    # referenced table that nulls the column in the same tenant (templates/ops/_set_null_trigger.sql.j2).
    set_null_columns: bool = True
    # Every table hash-distributed by tenant_id into one colocation group (Citus): create_distributed_table
    # after each CREATE TABLE
    distribute: bool = False
    # PRIMARY KEY ((tenant_id) HASH, ...) (YugabyteDB); with colocated, range keys (col ASC, ...) in a
    # colocated database
    hash_primary_key: bool = False
    colocated: bool = False
    # GIN indexes may have several columns (a tenant_id lead); else USING ybgin on the columns after
    # tenant_id (YugabyteDB: ybgin takes one column only)
    gin_multicolumn: bool = True
    concurrent_index: bool = True
    # The runner's lock: advisory where pg_try_advisory_lock works, else a row of a lock table
    lock: LockKind = LockKind.ADVISORY

    @property
    def advisory_locks(self) -> bool:
        """pg_advisory_lock and friends work (lint flags them in a file for a target where they do not)."""
        return self.lock is LockKind.ADVISORY

    # A failed migration is rolled back whole; else each statement is its own transaction
    transactional_ddl: bool = True
    # Every statement can be run again (DDL that is not transactional): CREATE ... IF NOT EXISTS, DROP ...
    # IF EXISTS, a constraint or policy dropped IF EXISTS before it is added (a CONCURRENTLY index
    # build keeps no IF NOT EXISTS: it would keep an INVALID index)
    idempotent_ddl: bool = False
    # SET LOCAL name = value at the top of every transactional migration file
    settings: tuple[tuple[str, str], ...] = ()
    # The statements of a transactional file inside one DO block (Citus: see templates/migration.sql.j2)
    one_block: bool = False
    # Lines added to every file header (comment text)
    header: tuple[str, ...] = ()
    # Every statement is PostgreSQL syntax (sqlfluff and squawk can lint it)
    postgres_syntax: bool = True
    # Run and tested on a real server by this project (False: written from the engine's docs)
    runnable_here: bool = True
    # import: a table that holds no row yet is loaded TRUNCATE + COPY ... FREEZE, its plain indexes
    # built after the rows (rows frozen and all-visible: the index builds and the foreign-key
    # validations read them without visibility checks, through index-only scans)
    copy_freeze: bool = True


POSTGRES = Target("postgres", "PostgreSQL 15+")

CITUS = Target(
    "citus", "Citus 13 (row-based sharding by tenant_id)",
    set_null_columns=False,
    distribute=True,
    one_block=True,
    copy_freeze=False,  # not proven on distributed tables: plain COPY
    settings=(
        # DDL on many distributed tables in one transaction: one connection per worker, so a later
        # statement never meets "there was a parallel operation on a distributed table"
        ("citus.multi_shard_modify_mode", "sequential"),
        # the set null triggers on distributed tables (they only touch the same tenant's shard)
        ("citus.enable_unsafe_triggers", "on"),
    ),
    header=(
        "Target: Citus. Every table is hash-distributed by tenant_id, all in one colocation group.",
    ),
)

_YUGABYTE_HEADER = (
    "Target: YugabyteDB (YSQL). Written from YugabyteDB's documentation; NOT run by fbs-schema's tests.",
    "DDL is not transactional there: each statement commits on its own. Every statement of this file",
    "can be run again (IF NOT EXISTS / IF EXISTS, constraints dropped before they are added), so after a",
    "failure half-way fix the cause and run the whole file again.",
    "On 2024.2 gen_random_uuid() needs CREATE EXTENSION pgcrypto, once, before the first file.",
)

YUGABYTE = Target(
    "yugabyte", "YugabyteDB 2024.2+ (hash-sharded by tenant_id)",
    set_null_columns=False,  # the PG11-based 2024.2 line has no SET NULL (col)
    hash_primary_key=True,
    gin_multicolumn=False,
    lock=LockKind.TABLE,  # no advisory locks before 2025.1, and then only behind a flag
    transactional_ddl=False,
    idempotent_ddl=True,
    copy_freeze=False,
    header=_YUGABYTE_HEADER,
    postgres_syntax=False,  # PRIMARY KEY ((tenant_id) HASH, ...)
    runnable_here=False,
)

YUGABYTE_COLOCATED = Target(
    "yugabyte-colocated", "YugabyteDB 2024.2+, colocated database (many small tables on one tablet)",
    set_null_columns=False,
    hash_primary_key=False,  # "cannot colocate hash partitioned table"
    colocated=True,
    gin_multicolumn=False,
    lock=LockKind.TABLE,
    transactional_ddl=False,
    idempotent_ddl=True,
    copy_freeze=False,
    header=_YUGABYTE_HEADER + (
        "Colocated: create the database WITH COLOCATION = true; primary keys are range keys led by tenant_id.",
    ),
    postgres_syntax=False,  # USING ybgin
    runnable_here=False,
)

TARGETS = {t.name: t for t in (POSTGRES, CITUS, YUGABYTE, YUGABYTE_COLOCATED)}


def named(name: str) -> Target:
    try:
        return TARGETS[name]
    except KeyError:
        raise UsageError(f"unknown target {name!r}: choose one of {', '.join(TARGETS)}") from None


def recorded(folder: Path) -> Target | None:
    """The target kept in ``folder`` (None when the folder keeps none)."""
    path = folder / KEPT_TARGET
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text("utf-8"))
        name = data["target"]
    except (ValueError, KeyError, TypeError):
        raise UsageError(f"{path} is not a target file ({{\"target\": \"citus\"}}); restore it from version control") from None
    return named(name)


def of_folder(folder: Path) -> Target:
    """The target a migrations folder was written for: its kept file, else PostgreSQL."""
    return recorded(folder) or POSTGRES


def resolve(folder: Path, requested: str | None, has_history: bool) -> Target:
    """The target to generate for: the requested one, else the folder's. A folder that already holds
    migrations (or a kept snapshot) keeps its target: asking for another is refused (exit 2)."""
    kept = recorded(folder)
    current = kept or (POSTGRES if has_history else None)
    if requested is None:
        return current or POSTGRES
    wanted = named(requested)
    if current is not None and current != wanted:
        raise UsageError(
            f"{folder} holds migrations for target {current.name}; --target {wanted.name} would mix two databases' "
            f"SQL in one folder. Generate into a new folder (--migrations DIR --target {wanted.name}) instead"
        )
    return wanted


def dumps(target: Target) -> str:
    return json.dumps({"target": target.name}, indent=2, sort_keys=True) + "\n"
