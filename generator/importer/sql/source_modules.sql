-- The installed modules of the Odoo database and the version of base (it names the series).
SELECT m.name, coalesce(m.latest_version, '') AS latest_version
FROM ir_module_module AS m
WHERE m.state = 'installed'
ORDER BY m.name
