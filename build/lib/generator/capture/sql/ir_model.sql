-- ir.model rows, as XML-RPC search_read returns them (modules computed like Odoo's _in_modules)
SELECT
    m.id,
    m.model,
    coalesce(m.name ->> %(lang)s, m.name ->> 'en_US') AS name,
    coalesce(m.transient, false) AS transient,
    to_jsonb(m) -> 'abstract' AS abstract,  -- a column since 19.0
    coalesce((
        SELECT string_agg(DISTINCT d.module, ', ' ORDER BY d.module)
        FROM ir_model_data AS d
        INNER JOIN ir_module_module AS mm ON mm.name = d.module AND mm.state = 'installed'
        WHERE d.model = 'ir.model' AND d.res_id = m.id
    ), '') AS modules
FROM ir_model AS m
ORDER BY m.id
