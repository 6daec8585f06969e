"""Stage 5: apply migrations to a database, sqlx-compatible.

``files`` resolves migrations/ loudly; ``ledger`` is sqlx's ``_sqlx_migrations`` table and advisory
lock; ``apply`` orchestrates migrate / revert / status / baseline; ``verify`` compares a live database
with the schema the kept snapshot describes.
"""
