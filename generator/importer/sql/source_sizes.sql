-- The planner's estimate of the rows of the given tables (to load the largest first).
SELECT c.relname AS table_name, greatest(c.reltuples, 0)::bigint AS estimate
FROM pg_class AS c
WHERE c.relnamespace = to_regnamespace(quote_ident(current_schema())) AND c.relname = any(%(tables)s)
