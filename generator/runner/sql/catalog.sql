-- The shape of one schema, as (kind, table, name, definition) rows, for verify.
-- Definitions are PostgreSQL's own rendering, so two schemas built from the same SQL compare equal.
SELECT 'table' AS kind, c.relname AS tbl, '' AS name,
       CASE WHEN c.relrowsecurity THEN 'row level security enabled' ELSE 'row level security DISABLED' END AS definition
FROM pg_class AS c
WHERE c.relnamespace = to_regnamespace(quote_ident(%(schema)s)) AND c.relkind = 'r' AND c.relname <> '_sqlx_migrations'
UNION ALL
SELECT 'column', c.relname, a.attname,
       format_type(a.atttypid, a.atttypmod)
       || CASE WHEN a.attnotnull THEN ' NOT NULL' ELSE ' NULL' END
       || coalesce(' DEFAULT ' || pg_get_expr(d.adbin, d.adrelid), '')
FROM pg_attribute AS a
INNER JOIN pg_class AS c ON c.oid = a.attrelid
LEFT JOIN pg_attrdef AS d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
WHERE c.relnamespace = to_regnamespace(quote_ident(%(schema)s)) AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped
UNION ALL
SELECT 'constraint', c.relname, k.conname, pg_get_constraintdef(k.oid)
FROM pg_constraint AS k
INNER JOIN pg_class AS c ON c.oid = k.conrelid
WHERE c.relnamespace = to_regnamespace(quote_ident(%(schema)s)) AND c.relkind = 'r'
UNION ALL
SELECT 'index', c.relname, i.relname, regexp_replace(pg_get_indexdef(x.indexrelid), ' ON \S+\.', ' ON ')
FROM pg_index AS x
INNER JOIN pg_class AS i ON i.oid = x.indexrelid
INNER JOIN pg_class AS c ON c.oid = x.indrelid
WHERE c.relnamespace = to_regnamespace(quote_ident(%(schema)s))
UNION ALL
SELECT 'policy', p.tablename, p.policyname,
       p.cmd || ' USING ' || coalesce(p.qual, '') || ' WITH CHECK ' || coalesce(p.with_check, '')
FROM pg_policies AS p
WHERE p.schemaname::text = %(schema)s::text
UNION ALL
SELECT 'trigger', c.relname, t.tgname, regexp_replace(pg_get_triggerdef(t.oid), ' ON \S+\.', ' ON ')
FROM pg_trigger AS t
INNER JOIN pg_class AS c ON c.oid = t.tgrelid
WHERE c.relnamespace = to_regnamespace(quote_ident(%(schema)s)) AND NOT t.tgisinternal
