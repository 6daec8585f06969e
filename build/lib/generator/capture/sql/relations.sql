-- Tables and views of the Odoo database's public schema: which models really have a table
SELECT
    c.relname AS name,
    c.relkind AS kind
FROM pg_class AS c
INNER JOIN pg_namespace AS n ON c.relnamespace = n.oid
WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
ORDER BY c.relname
