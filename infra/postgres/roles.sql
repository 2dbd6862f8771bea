-- Run once by the postgres image when its data directory is new (docker-compose mounts this file
-- into /docker-entrypoint-initdb.d): the same roles bin/infra creates on a local PostgreSQL.
-- streamsre_owner owns the database and runs the migrations (the compose service "migrate");
-- streamsre, the consumer's and replay's role, holds the DML its code runs; the migrations grant it
-- table by table (V7__least_privilege.sql).
CREATE ROLE streamsre_owner LOGIN PASSWORD 'streamsre_owner';
CREATE ROLE streamsre LOGIN PASSWORD 'streamsre';
ALTER DATABASE streamsre OWNER TO streamsre_owner;
\connect streamsre
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT CONNECT ON DATABASE streamsre TO streamsre;
GRANT USAGE ON SCHEMA public TO streamsre;
-- streamsre_monitor: the PostgreSQL exporter's role (docker-compose service postgres-exporter),
-- statistics only.
CREATE ROLE streamsre_monitor LOGIN PASSWORD 'streamsre_monitor' IN ROLE pg_monitor;
