"""The data stage: ``fbs-schema import`` moves an Odoo database's rows into a migrated target for one
tenant (DESIGN.md, "The data stage: import").

- ``keys``: the deterministic uuid of an Odoo row (tenant, Odoo table, id);
- ``source``: the Odoo database, read in one REPEATABLE READ, READ ONLY snapshot, and checked
  against the snapshot the migrations were made from;
- ``plan``: per generated table, the source query that yields its rows already mapped (from
  ``generator.mapping``), rendered through ``templates/import/``;
- ``integrity``: what Odoo's data holds that the target's constraints refuse, decided before
  anything is written (dangling references, values a CHECK or NOT NULL refuses);
- ``ledger``: the import ledger in the target (per tenant and table: rows, checksum, done) and the
  foreign keys set aside during a load;
- ``run``: the loads (binary COPY, streamed, one transaction per table) and ``--check``.
"""
