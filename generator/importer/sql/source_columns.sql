-- Every column of the given tables of the connection's first schema, with its type as format_type() prints it.
SELECT
    c.relname AS table_name,
    a.attname AS column_name,
    format_type(a.atttypid, a.atttypmod) AS column_type
FROM pg_class AS c
INNER JOIN pg_attribute AS a ON a.attrelid = c.oid
WHERE
    c.relnamespace = to_regnamespace(quote_ident(current_schema()))
    AND c.relkind IN ('r', 'p')
    AND c.relname = any(%(tables)s)
    AND a.attnum > 0
    AND NOT a.attisdropped
ORDER BY c.relname, a.attnum
