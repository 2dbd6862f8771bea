package dev.streamsre.it;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What the shipped images set, read from their Dockerfiles, so that the tests, the Kubernetes
 * manifest checks and the benchmark run the application exactly as the images do and never keep a
 * copy of their settings that could drift.
 */
public final class ImageSettings {

    private static final Path JVM = Path.of("src/main/docker/Dockerfile.jvm");
    private static final Path NATIVE = Path.of("src/main/docker/Dockerfile.native");

    private ImageSettings() {
    }

    /** The JVM image's JAVA_TOOL_OPTIONS, one option per element. */
    public static List<String> jvmToolOptions() {
        return List.of(match(JVM, "(?m)^ENV JAVA_TOOL_OPTIONS=\"([^\"]*)\"").trim().split("\\s+"));
    }

    /** The native image's default arguments (its CMD: the heap), which a container's args replace. */
    public static List<String> nativeArguments() {
        return List.of(match(NATIVE, "(?m)^CMD \\[([^\\]]*)\\]").replace("\"", "").trim().split("\\s*,\\s*"));
    }

    /** The JVM image's user id (APP_UID). */
    public static long jvmImageUid() {
        return Long.parseLong(match(JVM, "(?m)^ARG APP_UID=(\\d+)"));
    }

    private static String match(Path file, String regex) {
        String text;
        try {
            text = Files.readString(file);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file, e);
        }
        Matcher matcher = Pattern.compile(regex).matcher(text);
        if (!matcher.find()) {
            throw new IllegalStateException(file + " has no line matching " + regex);
        }
        return matcher.group(1);
    }
}
