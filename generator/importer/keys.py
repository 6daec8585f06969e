"""The key of an imported row: a deterministic function of (tenant, Odoo table, Odoo id).

Layout, an RFC 9562 version 8 uuid (``xxxxxxxx-xxxx-8xxx-yxxx-xxxxxxxxxxxx``)::

    bits  0-47   first 48 bits of SHA-256(tenant uuid's 16 bytes || Odoo table name in UTF-8)
    bits 48-51   version, 8
    bits 52-63   next 12 bits of that SHA-256
    bits 64-65   variant, binary 10
    bits 66-127  the Odoo id (its low 62 bits, two's complement: every int4 and int8 id up to 2**61)

So the first 64 bits (the *prefix*) name the tenant's table, and the last 64 the row:

- the same (tenant, table, id) gives the same uuid on every run, in any order, on any machine: a
  many2one, a many2many end or a res_id is converted from the source row alone, and cycles
  (res_partner <-> res_company <-> res_users) need no second pass;
- two tenants, or two tables, differ in their prefix (60 bits of SHA-256: a collision needs about
  2**30 tables or tenants); two rows of one table differ in their id; a uuid the application
  makes (``gen_random_uuid()``, version 4) never equals one (version 8);
- within a tenant's table the uuids sort as the Odoo ids do (ids >= 0), so the primary key and the
  foreign-key indexes are filled in order.

Rows without an Odoo id (a relation table shared by several many2many pairs) get the prefix and the
first 62 bits of SHA-256 of their natural key instead (``natural_key``).

The same layout is computed in SQL by ``templates/import/source.sql.j2`` (macro ``key``); a test checks
that both agree.
"""

from __future__ import annotations

import hashlib
import uuid

VERSION_BITS = 0x8000  # bits 48-51 = 8, in the third group
VARIANT = 1 << 63  # bits 64-65 = 10
LOW_62 = (1 << 62) - 1


def prefix(tenant: uuid.UUID, odoo_table: str) -> str:
    """The first 64 bits of every key of ``odoo_table``'s rows for ``tenant``, as 16 hex digits."""
    digest = hashlib.sha256(tenant.bytes + odoo_table.encode("utf-8")).digest()
    a = int.from_bytes(digest[:6], "big")  # 48 bits
    b = int.from_bytes(digest[6:8], "big") >> 4  # the next 12 bits
    return f"{a:012x}{(VERSION_BITS | b):04x}"


def key(tenant: uuid.UUID, odoo_table: str, odoo_id: int) -> uuid.UUID:
    """The uuid of Odoo row ``odoo_id`` of ``odoo_table`` for ``tenant``."""
    return uuid.UUID(prefix(tenant, odoo_table) + f"{VARIANT | (odoo_id & LOW_62):016x}")


def natural_key(tenant: uuid.UUID, odoo_table: str, natural: str) -> uuid.UUID:
    """The uuid of a row without an Odoo id, from its natural key's text (as the SQL macro forms it)."""
    low = int.from_bytes(hashlib.sha256(natural.encode("utf-8")).digest()[:8], "big")
    return uuid.UUID(prefix(tenant, odoo_table) + f"{VARIANT | (low & LOW_62):016x}")


def key_range(tenant: uuid.UUID, odoo_table: str) -> tuple[uuid.UUID, uuid.UUID]:
    """The lowest and highest uuid an import can give a row of ``odoo_table`` for ``tenant``."""
    p = prefix(tenant, odoo_table)
    return uuid.UUID(p + f"{VARIANT:016x}"), uuid.UUID(p + f"{VARIANT | LOW_62:016x}")
