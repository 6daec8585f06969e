SELECT
    c.id,
    c.model,
    c.module,
    c.name,
    c.definition,
    c.type
FROM ir_model_constraint AS c
ORDER BY c.id
