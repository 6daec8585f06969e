-- Single-column foreign keys of the connection's first schema that PostgreSQL has validated: a
-- column with one never holds an id its referenced table lacks.
SELECT
    c.relname AS table_name,
    a.attname AS column_name,
    r.relname AS referenced_table
FROM pg_constraint AS k
INNER JOIN pg_class AS c ON c.oid = k.conrelid
INNER JOIN pg_class AS r ON r.oid = k.confrelid
INNER JOIN pg_attribute AS a ON a.attrelid = k.conrelid AND a.attnum = k.conkey[1]
WHERE
    k.contype = 'f'
    AND k.convalidated
    AND cardinality(k.conkey) = 1
    AND c.relnamespace = current_schema()::regnamespace
    AND r.relnamespace = current_schema()::regnamespace
    AND k.confkey = ARRAY[(
        SELECT ra.attnum FROM pg_attribute AS ra WHERE ra.attrelid = k.confrelid AND ra.attname = 'id'
    )]
