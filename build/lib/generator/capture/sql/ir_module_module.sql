SELECT
    m.id,
    m.name,
    m.state,
    coalesce(m.latest_version, '') AS latest_version
FROM ir_module_module AS m
WHERE m.state = 'installed'
ORDER BY m.id
