"""Where a solution's tables live in its database, as one value handed down the pipeline.

- ``schema``: set at apply time, never written into the SQL. The runner connects with
  ``search_path`` set to the schema alone, so the tables, indexes, constraints, policies and the
  ``_sqlx_migrations`` ledger are all created there, and the same schema-neutral files work with
  ``sqlx migrate run`` given a URL whose search_path names the schema
  (``...?options=-csearch_path%3Dinventory``).
- ``prefix``: baked into the SQL at generate time (``tenant.build`` puts it in front of every
  table name, and so of every name derived from a table's; Odoo's own constraint names that live
  in the schema's relation namespace get it too); names stay within 63 bytes by
  ``naming.shorten``.

The default, ``Placement()``, is today's output and behaviour byte for byte: no prefix, the
connection's own search_path, sqlx's advisory-lock key.

Lock keys: sqlx takes ``0x3d32ad9e * crc32(current_database())``. A schema placement takes
``0x3d32ad9e * crc32(current_database() + '.' + schema)`` instead, so two solutions in one database
never wait for, or release, each other's lock. (sqlx's own library would take the database key for
such a solution; its CLI takes no lock at all.)
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

SQLX_LOCK_MULTIPLIER = 0x3D32AD9E


@dataclass(frozen=True)
class Placement:
    schema: str | None = None  # None: the connection's search_path (public, usually)
    prefix: str = ""  # in front of every table name

    def table(self, name: str) -> str:
        """A table's full (unshortened) name: ``naming.shorten`` fits it within 63 bytes."""
        return f"{self.prefix}{name}"

    def lock_key(self, database: str) -> int:
        """The advisory-lock key of this placement in ``database`` (see the module docstring)."""
        scope = database if self.schema is None else f"{database}.{self.schema}"
        return SQLX_LOCK_MULTIPLIER * zlib.crc32(scope.encode("utf-8"))

    def describe(self) -> str:
        parts = []
        if self.schema:
            parts.append(f"schema {self.schema}")
        if self.prefix:
            parts.append(f"prefix {self.prefix}")
        return ", ".join(parts) or "its own database"


DEFAULT = Placement()
