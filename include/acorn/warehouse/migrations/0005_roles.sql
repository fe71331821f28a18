-- Two roles: acorn_loader writes core, acorn_analyst reads only the documented mart views.
-- Grant them to login users: GRANT acorn_analyst TO alice;
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'acorn_loader') THEN
        CREATE ROLE acorn_loader NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'acorn_analyst') THEN
        CREATE ROLE acorn_analyst NOLOGIN;
    END IF;
END $$;
GRANT USAGE ON SCHEMA core TO acorn_loader;
GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA core TO acorn_loader;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA core TO acorn_loader;
REVOKE UPDATE ON core.audit_log FROM acorn_loader;
GRANT USAGE ON SCHEMA mart TO acorn_analyst;
ALTER DEFAULT PRIVILEGES IN SCHEMA mart GRANT SELECT ON TABLES TO acorn_analyst;
