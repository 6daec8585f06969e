"""How the runner words a migration that failed: the file and line of the failed statement, what
PostgreSQL said, and what to do (a full lock table, objects already there, an INVALID index left by
a CONCURRENTLY build, statements that may have applied where DDL is not transactional).
"""

from __future__ import annotations

import re

import psycopg

from generator.errors import MigrationError
from generator.runner import files as mfiles
from generator.runner import ledger


# A DO block's frame in an error's context (the last one is the outermost: the file's own block),
# with the line of the block that failed
DO_BLOCK_LINE = re.compile(r"PL/pgSQL function inline_code_block line (\d+) at ")
DO_STATEMENT = re.compile(r"DO\b", re.I)


def line_of(sql: str, exc: psycopg.Error) -> int | None:
    """The line of ``sql`` where the failed statement starts. PostgreSQL gives a position for the
    errors it finds parsing and analysing a statement (a syntax error, a missing table in a SELECT
    or an INSERT); for errors while running one (a division by zero, a constraint violated, ALTER
    TABLE on a missing table, an exception in a DO block) it gives none, and the line is that of the
    statement it failed on, counted by ``ledger.execute_file``. In a DO block (a Citus file is one), PL/pgSQL
    names the line of the block that failed, and that line is given."""
    position = getattr(exc.diag, "statement_position", None)
    if position:
        return sql[: int(position) - 1].count("\n") + 1
    index = getattr(exc, "fbs_statement", None)
    if index is None:
        return None
    starts = mfiles.statement_starts(sql)
    if index >= len(starts):
        return None
    start = starts[index]
    line = sql[:start].count("\n") + 1
    frames = DO_BLOCK_LINE.findall(exc.diag.context or "")
    if frames and DO_STATEMENT.match(sql, start):
        body = _do_body_start(sql, start)
        if body is not None:
            return sql[:body].count("\n") + int(frames[-1])
    return line


def _do_body_start(sql: str, start: int) -> int | None:
    """Where the body of the DO statement at ``start`` begins (its string constant's opening quote
    or dollar tag: PL/pgSQL counts that line as the block's line 1)."""
    import pglast.parser

    try:
        tokens = pglast.parser.scan(sql[start:])
    except pglast.parser.ParseError:
        return None
    for token in tokens:
        if token.name == "SCONST":
            return start + token.start
        if token.name == "ASCII_59":
            break
    return None


def failure(m: mfiles.MigrationFile, exc: psycopg.Error, book: ledger.Ledger, what: str = "failed",
            transactional: bool = True) -> MigrationError:
    """``m`` failed with ``exc``: where (file:line), PostgreSQL's words, and what is left to do."""
    line = line_of(m.sql, exc)
    where = f"{m.path}:{line}" if line else str(m.path)
    detail = f"\n  DETAIL: {exc.diag.message_detail}" if exc.diag.message_detail else ""
    hint = f"\n  HINT: {exc.diag.message_hint}" if exc.diag.message_hint else ""
    text = f"migration {m.version} ({m.name}) {what}: {where}: {exc.diag.message_primary or str(exc).strip()}{detail}{hint}"
    text += _advice(m, exc)
    if m.no_transaction:
        try:
            invalid = book.invalid_indexes()
        except psycopg.Error:
            invalid = []
        if invalid:
            text += (f"\n  INVALID index(es) left by the failed build: {', '.join(invalid)}; drop each with "
                     "DROP INDEX CONCURRENTLY and run migrate again")
    elif transactional:
        text += "\n  Nothing of it was applied (rolled back)."
    else:
        before = f"before line {line} " if line else ""
        text += (f"\n  DDL is not transactional on this target: the statements {before}of {m.path.name} may have "
                 "been applied although its ledger row was not written. The file is written to be run again "
                 "(IF NOT EXISTS / IF EXISTS): fix the cause and run migrate again.")
    return MigrationError(text)


def _advice(m: mfiles.MigrationFile, exc: psycopg.Error) -> str:
    """What to do about the errors that have a known cause: a full lock table, objects already there."""
    if isinstance(exc, psycopg.errors.OutOfMemory) and "max_locks_per_transaction" in (exc.diag.message_hint or ""):
        return (f"\n  The server's lock table is full: {m.name} locks more objects than it has room for while "
                "other sessions hold theirs (each lock is kept to the end of the file's transaction). Lower "
                "`lock_budget` in the rules file's [migration] table and generate the folder again (files not "
                "applied yet can be regenerated), or raise max_locks_per_transaction on the server (a restart).")
    if isinstance(exc, psycopg.errors.DuplicateTable | psycopg.errors.DuplicateObject):
        return ("\n  The database already holds objects of this migration: if the migrations were applied with "
                "psql (or another tool), record them with `fbs-schema baseline` instead of applying them again")
    return ""
