SELECT
    s.id,
    s.field_id,
    s.value,
    coalesce(s.name ->> %(lang)s, s.name ->> 'en_US') AS name,
    s.sequence
FROM ir_model_fields_selection AS s
ORDER BY s.id
