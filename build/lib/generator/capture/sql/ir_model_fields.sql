-- ir.model.fields rows, as XML-RPC search_read returns them (modules computed like Odoo's _in_modules)
WITH field_modules AS (
    SELECT
        d.res_id,
        string_agg(DISTINCT d.module, ', ' ORDER BY d.module) AS modules
    FROM ir_model_data AS d
    INNER JOIN ir_module_module AS mm ON mm.name = d.module AND mm.state = 'installed'
    WHERE d.model = 'ir.model.fields'
    GROUP BY d.res_id
)
SELECT
    f.id,
    f.model,
    f.name,
    f.ttype,
    coalesce(f.field_description ->> %(lang)s, f.field_description ->> 'en_US') AS field_description,
    coalesce(f.store, false) AS store,
    coalesce(f.required, false) AS required,
    coalesce(f.index, false) AS index,
    to_jsonb(f) -> 'translate' AS translate,  -- boolean up to 18.0, a selection (text) in 19.0
    coalesce(f.size, 0) AS size,
    f.relation,
    f.on_delete,
    f.relation_table,
    f.column1,
    f.column2,
    coalesce(fm.modules, '') AS modules,
    to_jsonb(f) -> 'company_dependent' AS company_dependent  -- a column since 18.0
FROM ir_model_fields AS f
LEFT JOIN field_modules AS fm ON fm.res_id = f.id
WHERE (f.store OR f.name = any(%(company_dependent_names)s)) AND f.ttype != 'one2many'
ORDER BY f.id
