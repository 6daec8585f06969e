-- create extension pg_trgm
CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- create table res_partner (4 columns)
CREATE TABLE IF NOT EXISTS res_partner (
    tenant_id uuid NOT NULL,
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    name character varying NOT NULL,
    parent_id uuid,
    CONSTRAINT res_partner_pkey PRIMARY KEY ((tenant_id) HASH, id ASC),
    CONSTRAINT res_partner_type_check CHECK (type IN ('contact', 'invoice')),
    CONSTRAINT res_partner_ref_uniq UNIQUE (tenant_id, name)
);

-- create table sale_order (5 columns)
CREATE TABLE IF NOT EXISTS sale_order (
    tenant_id uuid NOT NULL,
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    name character varying NOT NULL,
    partner_id uuid NOT NULL,
    user_partner_id uuid,
    CONSTRAINT sale_order_pkey PRIMARY KEY ((tenant_id) HASH, id ASC)
);

-- create index res_partner_name_trgm on res_partner
-- ybgin takes one column only, so this GIN index is not led by tenant_id; a query on it must not
-- need several index keys ("ybgin index method cannot use more than one required scan entry")
CREATE INDEX IF NOT EXISTS res_partner_name_trgm ON res_partner USING ybgin (name gin_trgm_ops);

-- create index res_partner_parent_id_index on res_partner
CREATE INDEX IF NOT EXISTS res_partner_parent_id_index ON res_partner (tenant_id, parent_id);

-- create index sale_order_partner_id_index on sale_order
CREATE INDEX IF NOT EXISTS sale_order_partner_id_index ON sale_order (tenant_id, partner_id);

-- add foreign key sale_order_partner_id_fkey on sale_order
-- dropped first, so the file can be run again after a failure half-way (DDL is not transactional)
-- squawk-ignore ban-drop-constraint
ALTER TABLE sale_order DROP CONSTRAINT IF EXISTS sale_order_partner_id_fkey;

ALTER TABLE sale_order
ADD CONSTRAINT sale_order_partner_id_fkey
FOREIGN KEY (tenant_id, partner_id)
REFERENCES res_partner (tenant_id, id)
ON DELETE RESTRICT;

-- add foreign key sale_order_user_partner_id_fkey on sale_order (NOT VALID)
-- dropped first, so the file can be run again after a failure half-way (DDL is not transactional)
-- squawk-ignore ban-drop-constraint
ALTER TABLE sale_order DROP CONSTRAINT IF EXISTS sale_order_user_partner_id_fkey;

ALTER TABLE sale_order
ADD CONSTRAINT sale_order_user_partner_id_fkey
FOREIGN KEY (tenant_id, user_partner_id)
REFERENCES res_partner (tenant_id, id) NOT VALID;

-- Odoo's "set null": deleting a res_partner row nulls user_partner_id of the rows here that point at it, in the same tenant only
CREATE OR REPLACE FUNCTION sale_order_user_partner_id_fkey_set_null() RETURNS trigger LANGUAGE plpgsql AS $fbs$
BEGIN
    UPDATE sale_order SET user_partner_id = NULL
    WHERE tenant_id = OLD.tenant_id AND user_partner_id = OLD.id;
    RETURN NULL;
END
$fbs$;

DROP TRIGGER IF EXISTS "FBS_sale_order_user_partner_id_fkey" ON res_partner;

CREATE TRIGGER "FBS_sale_order_user_partner_id_fkey" AFTER DELETE ON res_partner
FOR EACH ROW EXECUTE FUNCTION sale_order_user_partner_id_fkey_set_null();

-- add foreign key res_partner_parent_id_fkey on res_partner
-- dropped first, so the file can be run again after a failure half-way (DDL is not transactional)
-- squawk-ignore ban-drop-constraint
ALTER TABLE res_partner DROP CONSTRAINT IF EXISTS res_partner_parent_id_fkey;

ALTER TABLE res_partner
ADD CONSTRAINT res_partner_parent_id_fkey
FOREIGN KEY (tenant_id, parent_id)
REFERENCES res_partner (tenant_id, id);

-- Odoo's "set null": deleting a res_partner row nulls parent_id of the rows here that point at it, in the same tenant only
CREATE OR REPLACE FUNCTION res_partner_parent_id_fkey_set_null() RETURNS trigger LANGUAGE plpgsql AS $fbs$
BEGIN
    UPDATE res_partner SET parent_id = NULL
    WHERE tenant_id = OLD.tenant_id AND parent_id = OLD.id;
    RETURN NULL;
END
$fbs$;

DROP TRIGGER IF EXISTS "FBS_res_partner_parent_id_fkey" ON res_partner;

CREATE TRIGGER "FBS_res_partner_parent_id_fkey" AFTER DELETE ON res_partner
FOR EACH ROW EXECUTE FUNCTION res_partner_parent_id_fkey_set_null();

-- row-level security on res_partner (app.tenant_id)
DROP POLICY IF EXISTS res_partner_tenant_isolation ON res_partner;

ALTER TABLE res_partner ENABLE ROW LEVEL SECURITY;

CREATE POLICY res_partner_tenant_isolation ON res_partner
USING (tenant_id = nullif(current_setting('app.tenant_id', TRUE), '')::uuid)
WITH CHECK (tenant_id = nullif(current_setting('app.tenant_id', TRUE), '')::uuid);

-- add column sale_order.note text
ALTER TABLE sale_order ADD COLUMN IF NOT EXISTS note text;

-- create index sale_order_note_index on sale_order
CREATE INDEX CONCURRENTLY sale_order_note_index ON sale_order (tenant_id, note);

-- drop index sale_order_note_index
DROP INDEX CONCURRENTLY IF EXISTS sale_order_note_index;

-- DROP column sale_order.note (its values are lost)
-- squawk-ignore ban-drop-column
ALTER TABLE sale_order DROP COLUMN IF EXISTS note;

-- drop row-level security policy on res_partner
DROP POLICY IF EXISTS res_partner_tenant_isolation ON res_partner;

ALTER TABLE res_partner DISABLE ROW LEVEL SECURITY;

-- drop foreign key res_partner_parent_id_fkey on res_partner
DROP TRIGGER IF EXISTS "FBS_res_partner_parent_id_fkey" ON res_partner;

DROP FUNCTION IF EXISTS res_partner_parent_id_fkey_set_null();

-- squawk-ignore ban-drop-constraint
ALTER TABLE res_partner DROP CONSTRAINT IF EXISTS res_partner_parent_id_fkey;

-- drop foreign key sale_order_user_partner_id_fkey on sale_order
DROP TRIGGER IF EXISTS "FBS_sale_order_user_partner_id_fkey" ON res_partner;

DROP FUNCTION IF EXISTS sale_order_user_partner_id_fkey_set_null();

-- squawk-ignore ban-drop-constraint
ALTER TABLE sale_order DROP CONSTRAINT IF EXISTS sale_order_user_partner_id_fkey;

-- drop foreign key sale_order_partner_id_fkey on sale_order
-- squawk-ignore ban-drop-constraint
ALTER TABLE sale_order DROP CONSTRAINT IF EXISTS sale_order_partner_id_fkey;

-- drop index sale_order_partner_id_index
DROP INDEX IF EXISTS sale_order_partner_id_index;

-- drop index res_partner_parent_id_index
DROP INDEX IF EXISTS res_partner_parent_id_index;

-- drop index res_partner_name_trgm
DROP INDEX IF EXISTS res_partner_name_trgm;

-- DROP table sale_order (its rows are lost)
-- squawk-ignore ban-drop-table
DROP TABLE IF EXISTS sale_order;

-- DROP table res_partner (its rows are lost)
-- squawk-ignore ban-drop-table
DROP TABLE IF EXISTS res_partner;

-- drop extension pg_trgm
DROP EXTENSION IF EXISTS pg_trgm;
