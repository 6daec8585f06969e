-- The foreign keys that exist now on the tables of the connection's first schema: (table, name, validated).
SELECT
    c.relname AS table_name,
    k.conname AS constraint_name,
    k.convalidated AS validated
FROM pg_constraint AS k
INNER JOIN pg_class AS c ON k.conrelid = c.oid
WHERE k.contype = 'f' AND c.relnamespace = to_regnamespace(quote_ident(current_schema()))
