"""Stage 5: apply migrations to a database, sqlx-compatible.

``files`` resolves migrations/ loudly; ``ledger`` is the interface the runner needs of a database
(sqlx's ``_sqlx_migrations`` table and the target's lock strategy); ``apply`` is the one loop of
migrate / revert / baseline, and status; ``failures`` words a migration that failed; ``verify``
compares a live database with the schema the kept snapshot describes.
"""
