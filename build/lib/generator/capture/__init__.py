"""Stage 1 of the pipeline: read Odoo's model metadata and select what a module list takes.

Sources: ``rpc`` (a live Odoo over JSON-RPC, JSON-2 or XML-RPC; see ``transports``), ``database``
(an Odoo PostgreSQL database), or a saved snapshot.
Each yields a ``Catalog``; ``scope.select`` turns it into a ``Snapshot``.
"""
