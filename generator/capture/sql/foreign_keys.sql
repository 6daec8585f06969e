-- The ON DELETE action of every single-column foreign key of the Odoo database's public schema
-- (what Odoo really declared: a many2many's ondelete, a many2one on a table another model shares).
SELECT
    c.relname AS table_name,
    a.attname AS column_name,
    k.confdeltype AS action
FROM pg_constraint AS k
INNER JOIN pg_class AS c ON k.conrelid = c.oid
INNER JOIN pg_attribute AS a ON k.conrelid = a.attrelid AND k.conkey[1] = a.attnum
WHERE
    k.contype = 'f'
    AND cardinality(k.conkey) = 1
    AND c.relnamespace = to_regnamespace(quote_ident(current_schema()))
ORDER BY c.relname, a.attname
