-- create extension pg_trgm
CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- create table res_partner (4 columns)
CREATE TABLE res_partner (
    tenant_id uuid NOT NULL,
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    name character varying NOT NULL,
    parent_id uuid,
    CONSTRAINT res_partner_pkey PRIMARY KEY (tenant_id, id),
    CONSTRAINT res_partner_type_check CHECK (type IN ('contact', 'invoice')),
    CONSTRAINT res_partner_ref_uniq UNIQUE (tenant_id, name)
);

-- create table sale_order (5 columns)
CREATE TABLE sale_order (
    tenant_id uuid NOT NULL,
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    name character varying NOT NULL,
    partner_id uuid NOT NULL,
    user_partner_id uuid,
    CONSTRAINT sale_order_pkey PRIMARY KEY (tenant_id, id)
);

-- create index res_partner_name_trgm on res_partner
CREATE INDEX res_partner_name_trgm ON res_partner USING gin (tenant_id, name gin_trgm_ops);

-- create index res_partner_parent_id_index on res_partner
CREATE INDEX res_partner_parent_id_index ON res_partner (tenant_id, parent_id);

-- create index sale_order_partner_id_index on sale_order
CREATE INDEX sale_order_partner_id_index ON sale_order (tenant_id, partner_id);

-- add foreign key sale_order_partner_id_fkey on sale_order
ALTER TABLE sale_order
ADD CONSTRAINT sale_order_partner_id_fkey
FOREIGN KEY (tenant_id, partner_id)
REFERENCES res_partner (tenant_id, id)
ON DELETE RESTRICT;

-- add foreign key sale_order_user_partner_id_fkey on sale_order (NOT VALID)
ALTER TABLE sale_order
ADD CONSTRAINT sale_order_user_partner_id_fkey
FOREIGN KEY (tenant_id, user_partner_id)
REFERENCES res_partner (tenant_id, id)
ON DELETE SET NULL (user_partner_id) NOT VALID;

-- add foreign key res_partner_parent_id_fkey on res_partner
ALTER TABLE res_partner
ADD CONSTRAINT res_partner_parent_id_fkey
FOREIGN KEY (tenant_id, parent_id)
REFERENCES res_partner (tenant_id, id)
ON DELETE SET NULL (parent_id);

-- row-level security on res_partner (app.tenant_id)
ALTER TABLE res_partner ENABLE ROW LEVEL SECURITY;

CREATE POLICY res_partner_tenant_isolation ON res_partner
USING (tenant_id = nullif(current_setting('app.tenant_id', TRUE), '')::uuid)
WITH CHECK (tenant_id = nullif(current_setting('app.tenant_id', TRUE), '')::uuid);

-- add column sale_order.note text
ALTER TABLE sale_order ADD COLUMN note text;

-- create index sale_order_note_index on sale_order
CREATE INDEX CONCURRENTLY sale_order_note_index ON sale_order (tenant_id, note);

-- drop index sale_order_note_index
DROP INDEX CONCURRENTLY IF EXISTS sale_order_note_index;

-- DROP column sale_order.note (its values are lost)
-- squawk-ignore ban-drop-column
ALTER TABLE sale_order DROP COLUMN note;

-- drop row-level security policy on res_partner
DROP POLICY res_partner_tenant_isolation ON res_partner;

ALTER TABLE res_partner DISABLE ROW LEVEL SECURITY;

-- drop foreign key res_partner_parent_id_fkey on res_partner
-- squawk-ignore ban-drop-constraint
ALTER TABLE res_partner DROP CONSTRAINT res_partner_parent_id_fkey;

-- drop foreign key sale_order_user_partner_id_fkey on sale_order
-- squawk-ignore ban-drop-constraint
ALTER TABLE sale_order DROP CONSTRAINT sale_order_user_partner_id_fkey;

-- drop foreign key sale_order_partner_id_fkey on sale_order
-- squawk-ignore ban-drop-constraint
ALTER TABLE sale_order DROP CONSTRAINT sale_order_partner_id_fkey;

-- drop index sale_order_partner_id_index
DROP INDEX sale_order_partner_id_index;

-- drop index res_partner_parent_id_index
DROP INDEX res_partner_parent_id_index;

-- drop index res_partner_name_trgm
DROP INDEX res_partner_name_trgm;

-- DROP table sale_order (its rows are lost)
-- squawk-ignore ban-drop-table
DROP TABLE sale_order;

-- DROP table res_partner (its rows are lost)
-- squawk-ignore ban-drop-table
DROP TABLE res_partner;

-- drop extension pg_trgm
DROP EXTENSION IF EXISTS pg_trgm;
