-- The indexes that exist now on one table of the connection's first schema.
SELECT i.relname
FROM pg_index AS x
INNER JOIN pg_class AS i ON x.indexrelid = i.oid
INNER JOIN pg_class AS c ON x.indrelid = c.oid
WHERE c.relname = %(table)s AND c.relnamespace = to_regnamespace(quote_ident(current_schema()))
