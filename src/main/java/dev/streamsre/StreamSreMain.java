package dev.streamsre;

import dev.streamsre.audit.AuditMode;
import dev.streamsre.config.StreamSreConfig;
import dev.streamsre.producer.LoadProducer;
import dev.streamsre.replay.DlqReplayer;
import io.quarkus.runtime.Quarkus;
import io.quarkus.runtime.QuarkusApplication;
import io.quarkus.runtime.annotations.QuarkusMain;
import jakarta.enterprise.inject.Instance;
import sun.misc.Signal;

/**
 * Entry point: runs the mode selected by the active Quarkus profile. Producer, replay, migrate and audit are jobs
 * that exit with a status code; the consumer is a service that runs until SIGTERM.
 */
@QuarkusMain
public class StreamSreMain implements QuarkusApplication {

    private final Mode mode;
    private final Instance<LoadProducer> loadProducer;
    private final Instance<DlqReplayer> replayer;
    private final Instance<SchemaMigration> migration;
    private final Instance<AuditMode> audit;

    StreamSreMain(StreamSreConfig settings, Instance<LoadProducer> loadProducer,
            Instance<DlqReplayer> replayer, Instance<SchemaMigration> migration, Instance<AuditMode> audit) {
        this.mode = settings.mode();
        this.loadProducer = loadProducer;
        this.replayer = replayer;
        this.migration = migration;
        this.audit = audit;
    }

    /**
     * SIGTERM is how Kubernetes asks a pod to stop: it is a normal end, so the service runs its
     * graceful shutdown and exits 0, instead of the JVM's default 143 that reads as a crash.
     */
    private static void exitCleanlyOnSignal(String name) {
        Signal.handle(new Signal(name), signal -> Quarkus.asyncExit(0));
    }

    @Override
    public int run(String... args) {
        return switch (mode) {
            case PRODUCER -> loadProducer.get().run();
            case CONSUMER -> {
                exitCleanlyOnSignal("TERM");
                exitCleanlyOnSignal("INT");
                Quarkus.waitForExit();
                yield 0;
            }
            case REPLAY -> replayer.get().run();
            case MIGRATE -> migration.get().run();
            case AUDIT -> audit.get().run();
        };
    }
}
