package dev.streamsre.it;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The packaged application ({@code target/quarkus-app/quarkus-run.jar}, or the native binary under
 * {@code -Dnative}) running as a real, separate process, so tests can SIGTERM or kill -9 it exactly as
 * an orchestrator would.
 */
public final class AppProcess implements AutoCloseable {

    private final Process process;
    private final Path output;
    private final long startedNanos = System.nanoTime();

    private AppProcess(Process process, Path output) {
        this.process = process;
        this.output = output;
    }

    /**
     * Starts the app in the given profile with the given environment on top of the test
     * infrastructure's broker and database.
     */
    public static AppProcess start(String profile, Map<String, String> environment) {
        return start(profile, environment, DEFAULT_JVM_OPTIONS);
    }

    /**
     * The JIT and collector of the JVM image (src/main/docker/Dockerfile.jvm: C1 only, Serial GC)
     * with a larger heap cap: the suite starts about a hundred short-lived JVMs on two cores, and
     * C1 alone halves the CPU seconds of each start.
     */
    public static final List<String> DEFAULT_JVM_OPTIONS = List.of("-Xmx256m", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC");

    /** The JVM settings of the images (src/main/docker/Dockerfile.jvm), for tests about memory and stops. */
    public static final List<String> IMAGE_JVM_OPTIONS = ImageSettings.jvmToolOptions();

    /** Peak resident set size of the process so far (VmHWM), in MiB, or -1 when it is gone. */
    public long peakRssMiB() {
        try {
            for (String line : java.nio.file.Files.readAllLines(java.nio.file.Path.of("/proc/" + pid() + "/status"))) {
                if (line.startsWith("VmHWM:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", "")) / 1024;
                }
            }
        } catch (IOException e) {
            return -1;
        }
        return -1;
    }

    /** As {@link #start(String, Map)}, with the given JVM options instead of the default heap cap. */
    public static AppProcess start(String profile, Map<String, String> environment, List<String> jvmOptions) {
        try {
            Path output = Files.createTempFile("streamsre-" + profile + "-", ".log");
            List<String> command = new ArrayList<>();
            TestInfrastructure.appBinary().ifPresentOrElse(binary -> {
                // A native binary takes the heap limits (-Xmx, -Xmn) at run time; JVM flags have no meaning there.
                command.add(binary);
                jvmOptions.stream().filter(option -> option.startsWith("-Xm")).forEach(command::add);
            }, () -> {
                command.add(javaBinary());
                command.addAll(jvmOptions);
                if (Files.exists(appCdsArchive())) {
                    command.add("-XX:SharedArchiveFile=" + appCdsArchive().getFileName());
                }
                command.addAll(List.of("-jar", appJar().getFileName().toString()));
            });
            ProcessBuilder builder = new ProcessBuilder(command)
                    .redirectErrorStream(true)
                    .redirectOutput(output.toFile());
            if (TestInfrastructure.appBinary().isEmpty()) {
                builder.directory(appJar().getParent().toFile());
            }
            Map<String, String> env = builder.environment();
            env.put("QUARKUS_PROFILE", profile);
            env.put("KAFKA_BROKERS", TestInfrastructure.bootstrapServers());
            env.put("DATABASE_URL", TestInfrastructure.databaseUrl());
            env.put("QUARKUS_HTTP_PORT", "0");
            env.putAll(environment);
            return new AppProcess(builder.start(), output);
        } catch (IOException e) {
            throw new IllegalStateException("cannot start the application", e);
        }
    }

    private static Path appJar() {
        return Path.of(TestInfrastructure.appJar()).toAbsolutePath();
    }

    /**
     * The build's AppCDS archive (quarkus.package.jar.appcds.enabled), as the JVM image uses its
     * own. It records the class path as the build ran the jar, {@code quarkus-run.jar} in its own
     * folder, so the JVM maps it only when started from that folder with that relative path.
     */
    private static Path appCdsArchive() {
        return appJar().resolveSibling("app-cds.jsa");
    }

    private static String javaBinary() {
        return Path.of(System.getProperty("java.home"), "bin", "java").toString();
    }

    /** Waits for the process to exit by itself and returns its exit code. */
    public int awaitExit(Duration timeout) {
        try {
            if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                throw new AssertionError("process did not exit within " + timeout + "; output:\n" + output());
            }
            return process.exitValue();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** SIGTERM, as Kubernetes sends at pod deletion. */
    public void terminate() {
        process.destroy();
    }

    /** SIGKILL: no shutdown hook, no flush, no commit. */
    public void kill() {
        process.destroyForcibly();
        try {
            process.waitFor(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    public boolean isAlive() {
        return process.isAlive();
    }

    public long pid() {
        return process.pid();
    }

    /** Everything the process printed so far. */
    public String output() {
        try {
            return Files.readString(output);
        } catch (IOException e) {
            return "(output unreadable: " + e + ")";
        }
    }

    /** Waits until the output contains the text; fails with the output when it does not in time. */
    public void awaitOutput(String text, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            if (output().contains(text)) {
                return;
            }
            if (!process.isAlive()) {
                throw new AssertionError("process exited (" + process.exitValue() + ") before printing '" + text
                        + "'; output:\n" + output());
            }
            sleep(100);
        }
        throw new AssertionError("no '" + text + "' within " + timeout + "; output:\n" + output());
    }

    /** The HTTP port Quarkus chose (tests start the app with port 0), once it is listening. */
    public int httpPort() {
        awaitOutput("Listening on: http://", Duration.ofSeconds(60));
        Matcher matcher = Pattern.compile("Listening on: http://[^:]+:(\\d+)").matcher(output());
        if (!matcher.find()) {
            throw new AssertionError("no HTTP port in the output:\n" + output());
        }
        return Integer.parseInt(matcher.group(1));
    }

    /** Waits until {@code /q/health/ready} answers 200; fails with the process's output when it does not in time. */
    public void awaitReady(Duration timeout) {
        int port = httpPort();
        PipelineState.await("ready on port " + port, timeout, () -> readinessStatus(port) == 200, this::output);
    }

    /**
     * Seconds from the process's start until {@code /q/health/ready} first answered 200, polled every
     * 20 ms (the benchmark's time to ready; {@link #awaitReady}'s 250 ms would hide a native start).
     */
    public double secondsUntilReady(Duration timeout) {
        long deadline = startedNanos + timeout.toNanos();
        Pattern listening = Pattern.compile("Listening on: http://[^:]+:(\\d+)");
        int port = -1;
        while (System.nanoTime() < deadline) {
            if (port < 0) {
                Matcher matcher = listening.matcher(output());
                port = matcher.find() ? Integer.parseInt(matcher.group(1)) : -1;
            }
            if (port > 0 && readinessStatus(port) == 200) {
                return (System.nanoTime() - startedNanos) / 1e9;
            }
            sleep(20);
        }
        throw new AssertionError("not ready within " + timeout + "; output:\n" + output());
    }

    /** The body of {@code /q/health/ready} (whatever its status), or an empty string when it does not answer. */
    public String readiness() {
        return get("/q/health/ready");
    }

    /** The body of a GET on the app's HTTP port (whatever its status), or an empty string when it does not answer. */
    public String get(String path) {
        int port = httpPort();
        try {
            java.net.HttpURLConnection connection = (java.net.HttpURLConnection) java.net.URI
                    .create("http://127.0.0.1:" + port + path).toURL().openConnection();
            connection.setConnectTimeout(1000);
            connection.setReadTimeout(3000);
            java.io.InputStream body = connection.getResponseCode() < 400 ? connection.getInputStream()
                    : connection.getErrorStream();
            return body == null ? "" : new String(body.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        } catch (IOException e) {
            return "";
        }
    }

    private static int readinessStatus(int port) {
        try {
            java.net.HttpURLConnection connection = (java.net.HttpURLConnection) java.net.URI
                    .create("http://127.0.0.1:" + port + "/q/health/ready").toURL().openConnection();
            connection.setConnectTimeout(1000);
            connection.setReadTimeout(2000);
            return connection.getResponseCode();
        } catch (IOException e) {
            return -1;
        }
    }

    public static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void close() {
        if (process.isAlive()) {
            kill();
        }
    }
}
