-- Single-column foreign keys of the connection's first schema that PostgreSQL has validated: a
-- column with one never holds an id its referenced table lacks.
SELECT
    c.relname AS table_name,
    a.attname AS column_name,
    r.relname AS referenced_table
FROM pg_constraint AS k
INNER JOIN pg_class AS c ON k.conrelid = c.oid
INNER JOIN pg_class AS r ON k.confrelid = r.oid
INNER JOIN pg_attribute AS a ON k.conrelid = a.attrelid AND k.conkey[1] = a.attnum
INNER JOIN pg_attribute AS ra ON k.confrelid = ra.attrelid AND k.confkey[1] = ra.attnum
WHERE
    k.contype = 'f'
    AND k.convalidated
    AND cardinality(k.conkey) = 1
    AND ra.attname = 'id'
    AND c.relnamespace = to_regnamespace(quote_ident(current_schema()))
    AND r.relnamespace = to_regnamespace(quote_ident(current_schema()))
