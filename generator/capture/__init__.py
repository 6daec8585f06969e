"""Stage 1 of the pipeline: read Odoo's model metadata and select what a module list takes.

Sources: ``xmlrpc`` (a live Odoo), ``database`` (an Odoo PostgreSQL database), or a saved snapshot.
Each yields a ``Catalog``; ``scope.select`` turns it into a ``Snapshot``.
"""
