-- The shape of one schema, as (kind, table, name, definition) rows, for verify.
-- Definitions are PostgreSQL's own rendering, so two schemas built from the same SQL compare equal.
-- Every object of the schema is listed, not only the generated ones, so that verify sees what does
-- not belong (a stray table, a view, a sequence, a function); objects of extensions are left out
-- (pg_trgm's functions, Citus's citus_tables view), and the ledgers, which are the runner's own.
WITH ns AS (
    SELECT to_regnamespace(quote_ident(%(schema)s)) AS oid
),

extension_member AS (
    SELECT d.classid, d.objid
    FROM pg_depend AS d
    WHERE d.deptype = 'e'
),

own AS (
    SELECT c.*
    FROM pg_class AS c, ns
    WHERE
        c.relnamespace = ns.oid
        AND c.relname NOT IN ('_sqlx_migrations', '_fbs_migration_lock', '_fbs_import', '_fbs_import_set_aside')
        AND NOT EXISTS (
            SELECT 1 FROM extension_member AS e WHERE e.classid = 'pg_class'::regclass AND e.objid = c.oid
        )
)

SELECT
    'table' AS kind,
    c.relname AS tbl,
    '' AS name,
    CASE
        WHEN c.relforcerowsecurity THEN 'row level security enabled and FORCED (the owner too)'
        WHEN c.relrowsecurity THEN 'row level security enabled'
        ELSE 'row level security DISABLED'
    END AS definition
FROM own AS c
WHERE c.relkind IN ('r', 'p')
UNION ALL
SELECT
    'column',
    c.relname,
    a.attname,
    format_type(a.atttypid, a.atttypmod)
    || CASE WHEN a.attnotnull THEN ' NOT NULL' ELSE ' NULL' END
    || coalesce(' DEFAULT ' || pg_get_expr(d.adbin, d.adrelid), '')
FROM pg_attribute AS a
INNER JOIN own AS c ON a.attrelid = c.oid
LEFT JOIN pg_attrdef AS d ON a.attrelid = d.adrelid AND a.attnum = d.adnum
WHERE c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped
UNION ALL
SELECT
    'constraint',
    c.relname,
    k.conname,
    pg_get_constraintdef(k.oid)
FROM pg_constraint AS k
INNER JOIN own AS c ON k.conrelid = c.oid
WHERE c.relkind IN ('r', 'p')
UNION ALL
SELECT
    'index',
    c.relname,
    i.relname,
    regexp_replace(pg_get_indexdef(x.indexrelid), ' ON \S+\.', ' ON ')
FROM pg_index AS x
INNER JOIN pg_class AS i ON x.indexrelid = i.oid
INNER JOIN own AS c ON x.indrelid = c.oid
UNION ALL
SELECT
    'policy',
    p.tablename,
    p.policyname,
    p.permissive || ' ' || p.cmd || ' TO ' || array_to_string(p.roles, ', ')
    || ' USING ' || coalesce(p.qual, '') || ' WITH CHECK ' || coalesce(p.with_check, '')
FROM pg_policies AS p
WHERE p.schemaname::text = %(schema)s::text
UNION ALL
SELECT
    'trigger',
    c.relname,
    t.tgname,
    regexp_replace(pg_get_triggerdef(t.oid), ' ON \S+\.', ' ON ')
FROM pg_trigger AS t
INNER JOIN own AS c ON t.tgrelid = c.oid
WHERE NOT t.tgisinternal
UNION ALL
-- comments: of a table (name '') and of its columns
SELECT
    'comment',
    c.relname,
    coalesce(a.attname, ''),
    d.description
FROM pg_description AS d
INNER JOIN own AS c ON d.objoid = c.oid AND d.classoid = 'pg_class'::regclass
LEFT JOIN pg_attribute AS a ON d.objoid = a.attrelid AND d.objsubid = a.attnum AND d.objsubid > 0
WHERE c.relkind IN ('r', 'p')
UNION ALL
-- privileges every role has (GRANT ... TO PUBLIC), on any relation of the schema
SELECT
    'grant',
    c.relname,
    'PUBLIC',
    string_agg(g.privilege_type, ', ' ORDER BY g.privilege_type)
FROM own AS c
CROSS JOIN LATERAL aclexplode(c.relacl) AS g
WHERE g.grantee = 0
GROUP BY c.relname
UNION ALL
-- relations that are not tables: views (and the tables they read, unless they run as the user),
-- materialized views, sequences, foreign tables
SELECT
    CASE c.relkind WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view' WHEN 'S' THEN 'sequence'
        ELSE 'foreign table' END,
    c.relname,
    '',
    CASE c.relkind WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view' WHEN 'S' THEN 'sequence'
        ELSE 'foreign table' END
    || CASE
        WHEN c.relkind = 'v' AND coalesce(c.reloptions, '{}') @> ARRAY['security_invoker=true'] THEN ' (security_invoker)'
        ELSE ''
    END
    || coalesce(' reading ' || (
        SELECT string_agg(DISTINCT t.relname, ', ' ORDER BY t.relname)
        FROM pg_rewrite AS r
        INNER JOIN pg_depend AS d ON d.classid = 'pg_rewrite'::regclass AND r.oid = d.objid
        INNER JOIN pg_class AS t ON d.refobjid = t.oid
        WHERE r.ev_class = c.oid AND t.relkind IN ('r', 'p') AND t.oid <> c.oid
    ), '')
FROM own AS c
WHERE c.relkind IN ('v', 'm', 'S', 'f')
UNION ALL
-- functions and procedures (a SECURITY DEFINER one runs as its owner)
SELECT
    'function',
    '',
    p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')',
    CASE WHEN p.prosecdef THEN 'SECURITY DEFINER' ELSE 'SECURITY INVOKER' END
FROM pg_proc AS p, ns
WHERE
    p.pronamespace = ns.oid
    AND NOT EXISTS (SELECT 1 FROM extension_member AS e WHERE e.classid = 'pg_proc'::regclass AND e.objid = p.oid)
