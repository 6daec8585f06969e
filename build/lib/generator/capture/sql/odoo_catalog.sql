-- The tables of an Odoo database's public schema as PostgreSQL holds them (compare-odoo): one row
-- per table with its columns, its constraints (primary key, foreign key, UNIQUE, CHECK) and the
-- unique indexes that back no constraint (19.0's models.UniqueIndex and Odoo's hand-made ones).
SELECT
    c.relname AS table_name,
    coalesce((
        SELECT
            jsonb_agg(
                jsonb_build_object(
                    'name', a.attname,
                    'type', format_type(a.atttypid, a.atttypmod),
                    'not_null', a.attnotnull
                ) ORDER BY a.attnum
            )
        FROM pg_attribute AS a
        WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
    ), '[]'::jsonb) AS columns,
    coalesce((
        SELECT
            jsonb_agg(
                jsonb_build_object(
                    'name', k.conname,
                    'kind', k.contype,
                    'columns', coalesce((
                        SELECT jsonb_agg(a.attname ORDER BY u.ord)
                        FROM unnest(k.conkey) WITH ORDINALITY AS u (attnum, ord)
                        INNER JOIN pg_attribute AS a ON k.conrelid = a.attrelid AND u.attnum = a.attnum
                    ), '[]'::jsonb),
                    'ref_table', r.relname,
                    'on_delete', nullif(k.confdeltype, ' '),
                    'definition', pg_get_constraintdef(k.oid)
                ) ORDER BY k.conname
            )
        FROM pg_constraint AS k
        LEFT JOIN pg_class AS r ON k.confrelid = r.oid
        WHERE k.conrelid = c.oid AND k.contype IN ('p', 'f', 'u', 'c')
    ), '[]'::jsonb) AS constraints,
    coalesce((
        SELECT
            jsonb_agg(
                jsonb_build_object(
                    'name', ic.relname,
                    'kind', 'i',
                    'columns', coalesce((
                        SELECT jsonb_agg(coalesce(a.attname, '') ORDER BY u.ord)
                        FROM unnest(i.indkey::int2[]) WITH ORDINALITY AS u (attnum, ord)
                        LEFT JOIN pg_attribute AS a ON i.indrelid = a.attrelid AND u.attnum = a.attnum
                        WHERE u.ord <= i.indnkeyatts
                    ), '[]'::jsonb),
                    'ref_table', null,
                    'on_delete', null,
                    'definition', pg_get_indexdef(i.indexrelid)
                ) ORDER BY ic.relname
            )
        FROM pg_index AS i
        INNER JOIN pg_class AS ic ON i.indexrelid = ic.oid
        WHERE
            i.indrelid = c.oid
            AND i.indisunique
            AND NOT EXISTS (
                SELECT 1 FROM pg_constraint AS k
                WHERE k.conindid = i.indexrelid AND k.conrelid = i.indrelid AND k.contype IN ('p', 'u', 'x')
            )
    ), '[]'::jsonb) AS unique_indexes
FROM pg_class AS c
INNER JOIN pg_namespace AS n ON c.relnamespace = n.oid
WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
ORDER BY c.relname
