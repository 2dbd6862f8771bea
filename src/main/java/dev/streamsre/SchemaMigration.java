package dev.streamsre;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.inject.Instance;
import org.flywaydb.core.Flyway;
import org.flywaydb.core.api.FlywayException;
import org.flywaydb.core.api.output.MigrateResult;
import org.jboss.logging.Logger;

/**
 * Migrate mode: applies the pending Flyway migrations with the credentials it is given (the
 * migration role, which owns the schema) and exits. The consumer and replay never migrate: they
 * run with a role that holds DML on their tables only, and check at start that the schema is at
 * this build's version.
 */
@ApplicationScoped
public class SchemaMigration {

    private static final Logger LOG = Logger.getLogger(SchemaMigration.class);

    /** Exit codes of migrate mode. */
    static final int EXIT_OK = 0;
    static final int EXIT_FAILED = 2;

    private final Instance<Flyway> flyway;

    SchemaMigration(Instance<Flyway> flyway) {
        this.flyway = flyway;
    }

    /** Migrates and returns the process exit code. */
    public int run() {
        try {
            Flyway migrator = flyway.get();
            MigrateResult result = migrator.migrate();
            // Flyway names the schema only when it applied something; PostgreSQL's default otherwise.
            String[] schemas = migrator.getConfiguration().getSchemas();
            String schema = result.schemaName != null && !result.schemaName.isBlank() ? result.schemaName
                    : schemas.length > 0 ? schemas[0] : "public";
            System.out.printf("migrate: schema %s at version %s (%d migration(s) applied now)%n", schema,
                    result.targetSchemaVersion != null ? result.targetSchemaVersion : result.initialSchemaVersion,
                    result.migrationsExecuted);
            return EXIT_OK;
        } catch (FlywayException e) {
            // Flyway's message names the failing statement and PostgreSQL's error (e.g. "must be owner
            // of table"); it carries no credential.
            LOG.errorf("migration failed (run migrate mode with the migration role's DATABASE_URL): %s", e.getMessage());
            return EXIT_FAILED;
        }
    }
}
