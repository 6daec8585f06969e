"""What deleting a referenced row does, foreign key by foreign key, on any database built from the
generated SQL (PostgreSQL or Citus), so that two builds can be compared outcome for outcome.

For each tenant-scoped foreign key (child.col -> parent): tenant A and tenant B each get a parent
row with the SAME id and a child row pointing at it; A's parent is deleted. The outcome is
"removed" (A's child is gone), "nulled" (A's child keeps its tenant_id, col is NULL), "refused"
(the DELETE failed with a foreign key violation) or "skipped" (no rows could be made for it); in
every case B's child must be exactly as before ("B changed" otherwise)."""

from __future__ import annotations

import uuid

import psycopg
from psycopg import errors, sql

from tests.support.rows import RowMaker

A = "aaaaaaaa-0000-4000-8000-00000000000a"
B = "bbbbbbbb-0000-4000-8000-00000000000b"

FOREIGN_KEYS = """
SELECT c.conrelid::regclass::text, c.conname,
       (SELECT attname FROM pg_attribute WHERE attrelid = c.conrelid AND attnum = c.conkey[2]),
       c.confrelid::regclass::text
FROM pg_constraint AS c
WHERE c.contype = 'f' AND c.connamespace = 'public'::regnamespace AND array_length(c.conkey, 1) = 2
ORDER BY 1, 2
"""


class UniqueRows(RowMaker):
    """Text values differ from row to row (base-36 counter), so UNIQUE constraints on names and
    codes let a test make many rows of one table."""

    counter = 0

    def value(self, table, column, ctype):
        value = super().value(table, column, ctype)
        if value == "x":
            UniqueRows.counter += 1
            n, digits = UniqueRows.counter, ""
            while n:
                n, d = divmod(n, 36)
                digits = "0123456789abcdefghijklmnopqrstuvwxyz"[d] + digits
            return digits
        return value


PRIMARY_KEY = """
SELECT array_agg(a.attname::text ORDER BY k.n)
FROM pg_index AS i
CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, n)
INNER JOIN pg_attribute AS a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
WHERE i.indrelid = %s::regclass AND i.indisprimary
"""


def foreign_keys(dsn: str) -> list[tuple[str, str, str, str]]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(FOREIGN_KEYS).fetchall()


def _has_id(conn, table: str) -> bool:
    return conn.execute("SELECT count(*) FROM pg_attribute WHERE attrelid = %s::regclass AND attname = 'id' "
                        "AND NOT attisdropped", (table,)).fetchone()[0] == 1


def outcome(conn: psycopg.Connection, maker: RowMaker, child: str, column: str, parent: str) -> str:
    shared_id = str(uuid.uuid4())
    try:
        maker.make(parent, A, reuse=False, id=shared_id)
        maker.make(parent, B, reuse=False, id=shared_id)
        child_a = maker.make(child, A, **{column: shared_id})
        child_b = maker.make(child, B, **{column: shared_id})
    except psycopg.Error:
        return "skipped"
    if _has_id(conn, child):  # the very child rows, by id
        key_a, key_b = ("id",), ("id",)
        where_a, where_b = (child_a,), (child_b,)
    else:  # a table without id (relation, company values): each child row by its primary key
        key_a = key_b = tuple(conn.execute(PRIMARY_KEY, (child,)).fetchone()[0])
        find = sql.SQL("SELECT {k} FROM {t} WHERE tenant_id = %s AND {c} = %s").format(
            k=sql.SQL(", ").join(map(sql.Identifier, key_a)), t=sql.Identifier(child), c=sql.Identifier(column))
        where_a = conn.execute(find, (A, shared_id)).fetchone()
        where_b = conn.execute(find, (B, shared_id)).fetchone()
    def state(tenant, key, values):
        query = sql.SQL("SELECT {c} FROM {t} WHERE tenant_id = %s AND ({k}) = ({v})").format(
            c=sql.Identifier(column), t=sql.Identifier(child), k=sql.SQL(", ").join(map(sql.Identifier, key)),
            v=sql.SQL(", ").join(sql.Placeholder() * len(key)))
        return conn.execute(query, (tenant, *values)).fetchall()
    delete = sql.SQL("DELETE FROM {} WHERE tenant_id = %s AND id = %s").format(sql.Identifier(parent))
    try:
        conn.execute(delete, (A, shared_id))
        after = state(A, key_a, where_a)
        result = {(): "removed", ((None,),): "nulled"}.get(tuple(after), f"kept {after}")
    except errors.ForeignKeyViolation:
        result = "refused"
    if [tuple(r) for r in state(B, key_b, where_b)] != [(uuid.UUID(shared_id),)]:
        return "B changed"
    return result


def outcomes(dsn: str, only: set[str] | None = None) -> dict[tuple[str, str], str]:
    """{(child table, constraint): outcome} for every two-column foreign key (of the child tables in ``only``)."""
    out = {}
    with psycopg.connect(dsn, autocommit=True) as conn:
        maker = UniqueRows(conn)
        for child, name, column, parent in foreign_keys(dsn):
            if only is not None and child not in only:
                continue
            if not _has_id(conn, parent):
                continue
            out[(child, name)] = outcome(conn, maker, child, column, parent)
    return out


EXPECTED = {"c": "removed", "n": "nulled", "r": "refused", "a": "refused"}
