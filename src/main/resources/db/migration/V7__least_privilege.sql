-- StreamSRE schema, version 7: the application's role holds exactly what its code runs, table by table.
--
-- ${app_role} is the consumer's and replay's DML-only role (quarkus.flyway.placeholders.app_role,
-- default streamsre). Until now it held SELECT, INSERT, UPDATE and DELETE on every table (granted
-- by default privileges), so it could rewrite flyway_schema_history and update or delete reviews,
-- which no code does, and, like every role, create TEMP tables. Now:
--   processed_events  SELECT, INSERT, DELETE  the ledger insert (RETURNING), forgetting conflicts, pruning
--   reviews           SELECT, INSERT          the insert (RETURNING), recognising redeliveries
--   dlq_events        SELECT, INSERT, UPDATE, DELETE  recording, resolving, replay's claims, pruning
--   flyway_schema_history  SELECT            the version check at start
-- and no default privileges: a later migration that adds a table grants what the code needs on it.
-- A deployment without that role (other names) gets a notice and no grants.
DO $$
DECLARE
    app_role text := '${app_role}';
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = app_role) THEN
        RAISE NOTICE 'role % does not exist: no table privileges granted', app_role;
        RETURN;
    END IF;
    EXECUTE format('REVOKE ALL ON ALL TABLES IN SCHEMA %I FROM %I', current_schema(), app_role);
    EXECUTE format('GRANT SELECT, INSERT, DELETE ON processed_events TO %I', app_role);
    EXECUTE format('GRANT SELECT, INSERT ON reviews TO %I', app_role);
    EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON dlq_events TO %I', app_role);
    EXECUTE format('GRANT SELECT ON flyway_schema_history TO %I', app_role);
    EXECUTE format('GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA %I TO %I', current_schema(), app_role);
    EXECUTE format('ALTER DEFAULT PRIVILEGES IN SCHEMA %I REVOKE ALL ON TABLES FROM %I', current_schema(), app_role);
    EXECUTE format('ALTER DEFAULT PRIVILEGES IN SCHEMA %I REVOKE ALL ON SEQUENCES FROM %I', current_schema(), app_role);
END $$;

-- TEMP tables are a privilege every role has through PUBLIC; nothing of ours uses them. Only the
-- database's owner can revoke it (for others this is a warning, not an error).
DO $$
BEGIN
    EXECUTE format('REVOKE TEMPORARY ON DATABASE %I FROM PUBLIC', current_database());
END $$;
