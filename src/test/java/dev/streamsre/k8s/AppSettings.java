package dev.streamsre.k8s;

import dev.streamsre.Mode;
import dev.streamsre.config.SpecEnvironmentConfigSource;
import dev.streamsre.it.ImageSettings;
import io.quarkus.micrometer.runtime.config.PrometheusConfigGroup;
import io.quarkus.vertx.http.runtime.VertxHttpBuildTimeConfig;
import io.quarkus.vertx.http.runtime.VertxHttpConfig;
import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import io.smallrye.config.WithName;
import io.smallrye.config.WithParentName;
import java.io.IOException;
import java.io.Reader;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.producer.ProducerConfig;

/**
 * What the application itself says about how it runs, for checking deployment manifests against
 * it rather than against a second list: the environment variables it reads (and from where),
 * its profiles, HTTP ports, health and metrics paths, graceful-stop budget, and the image's user
 * and JVM flags. Read from application.properties, the {@code @ConfigMapping} interfaces, the
 * spec-variable translation, the Quarkus extensions' own defaults, Dockerfile.jvm and bin/infra.
 */
final class AppSettings {

    /**
     * SmallRye Health's endpoint names under {@code quarkus.smallrye-health.root-path}. Its defaults
     * live in its build-time config, which is not on the test classpath; application.properties
     * overrides them (and is read for that).
     */
    private static final Map<String, String> HEALTH_DEFAULTS = Map.of(
            "quarkus.smallrye-health.root-path", "health",
            "quarkus.smallrye-health.liveness-path", "live",
            "quarkus.smallrye-health.readiness-path", "ready",
            "quarkus.smallrye-health.startup-path", "started");

    /** Set by the JVM and Quarkus themselves, not read through a config property of ours. */
    static final Set<String> RUNTIME_VARIABLES = Set.of("JAVA_TOOL_OPTIONS", "QUARKUS_PROFILE");

    /** A property expression that reads an environment variable by its own name: {@code ${RATE_PER_SEC:1000}}. */
    private static final Pattern SPEC_EXPRESSION = Pattern.compile("\\$\\{([A-Z][A-Z0-9_]*)[:}]");

    /** Where an environment variable's name comes from. */
    enum Source {
        SPEC("spec variable"),
        PROPERTIES("application.properties"),
        CONFIG_MAPPING("@ConfigMapping"),
        KAFKA("kafka.* client setting"),
        RUNTIME("JVM/Quarkus");

        final String label;

        Source(String label) {
            this.label = label;
        }
    }

    private final Path repository;
    private final Properties properties = new Properties();
    /** The spec's variables: those SpecEnvironmentConfigSource translates, and those application.properties reads by expression. */
    private final Set<String> specVariables = new TreeSet<>(SpecEnvironmentConfigSource.variableNames());
    private final Set<String> propertyVariables = new TreeSet<>();
    private final Set<String> mappingVariables = new TreeSet<>();
    private final Set<String> mappingMapPrefixes = new TreeSet<>();
    private final Set<String> kafkaVariables = new TreeSet<>();
    private final List<String> mappings = new ArrayList<>();

    AppSettings(Path repository) {
        this.repository = repository;
        try (Reader reader = Files.newBufferedReader(repository.resolve("src/main/resources/application.properties"))) {
            properties.load(reader);
        } catch (IOException e) {
            throw new AssertionError(e);
        }
        for (String key : properties.stringPropertyNames()) {
            propertyVariables.add(envForm(key.startsWith("%") ? key.substring(key.indexOf('.') + 1) : key));
            Matcher expression = SPEC_EXPRESSION.matcher(properties.getProperty(key));
            while (expression.find()) {
                specVariables.add(expression.group(1));
            }
        }
        for (Class<?> mapping : configMappings()) {
            String prefix = mapping.getAnnotation(ConfigMapping.class).prefix();
            mappings.add(mapping.getSimpleName() + " (" + prefix + ")");
            mappingProperties(mapping, prefix);
        }
        Stream.of(ConsumerConfig.configNames(), ProducerConfig.configNames(), AdminClientConfig.configNames())
                .flatMap(Set::stream)
                .forEach(name -> kafkaVariables.add(envForm("kafka." + name)));
    }

    /** A property name in the form SmallRye Config looks it up in the environment. */
    static String envForm(String property) {
        return property.replaceAll("[^A-Za-z0-9]", "_").toUpperCase(Locale.ROOT);
    }

    /** The source that reads a variable, or empty when the application reads no such variable. */
    Optional<Source> sourceOf(String variable) {
        if (specVariables.contains(variable)) {
            return Optional.of(Source.SPEC);
        }
        if (RUNTIME_VARIABLES.contains(variable)) {
            return Optional.of(Source.RUNTIME);
        }
        if (propertyVariables.contains(variable)) {
            return Optional.of(Source.PROPERTIES);
        }
        if (mappingVariables.contains(variable) || mappingMapPrefixes.stream().anyMatch(p -> variable.startsWith(p + "_"))) {
            return Optional.of(Source.CONFIG_MAPPING);
        }
        if (kafkaVariables.contains(variable)) {
            return Optional.of(Source.KAFKA);
        }
        return Optional.empty();
    }

    List<String> mappings() {
        return mappings;
    }

    /** The profiles a container may run: the application's modes. */
    static Set<String> profiles() {
        Set<String> profiles = new LinkedHashSet<>();
        Arrays.stream(Mode.values()).forEach(mode -> profiles.add(mode.name().toLowerCase(Locale.ROOT)));
        return profiles;
    }

    /** A property as the given profile sees it: {@code %profile.key}, else {@code key}, else the default. */
    String value(String profile, String key, String defaultValue) {
        String profiled = properties.getProperty("%" + profile + "." + key);
        return profiled != null ? profiled : properties.getProperty(key, defaultValue);
    }

    /** Whether the profile serves HTTP at all (migrate and replay do not). */
    boolean httpEnabled(String profile) {
        return Boolean.parseBoolean(value(profile, "quarkus.http.host-enabled", defaultOf(VertxHttpConfig.class, "hostEnabled")));
    }

    int httpPort(String profile) {
        return Integer.parseInt(value(profile, "quarkus.http.port", defaultOf(VertxHttpConfig.class, "port")));
    }

    /** {@code /q/health/live} and its siblings; kind is {@code liveness}, {@code readiness} or {@code startup}. */
    String healthPath(String profile, String kind) {
        String key = "quarkus.smallrye-health." + kind + "-path";
        return nonApplicationRoot(profile) + "/" + value(profile, "quarkus.smallrye-health.root-path", HEALTH_DEFAULTS.get("quarkus.smallrye-health.root-path"))
                + "/" + value(profile, key, HEALTH_DEFAULTS.get(key));
    }

    String metricsPath(String profile) {
        return nonApplicationRoot(profile) + "/"
                + value(profile, "quarkus.micrometer.export.prometheus.path", defaultOf(PrometheusConfigGroup.class, "path"));
    }

    private String nonApplicationRoot(String profile) {
        String root = value(profile, "quarkus.http.non-application-root-path", defaultOf(VertxHttpBuildTimeConfig.class, "nonApplicationRootPath"));
        return "/" + root.replaceAll("^/+|/+$", "");
    }

    /** quarkus.shutdown.timeout: how long a stop may drain. */
    Duration shutdownTimeout() {
        String raw = value("consumer", "quarkus.shutdown.timeout", null);
        if (raw == null) {
            throw new AssertionError("application.properties sets no quarkus.shutdown.timeout");
        }
        return raw.startsWith("P") ? Duration.parse(raw) : Duration.parse("PT" + raw.toUpperCase(Locale.ROOT));
    }

    /** Kafka consumers per consumer process: the ConfigMap's CONSUMER_CONCURRENCY, else application.properties. */
    int consumerConcurrency(Map<String, String> configMap) {
        String fromMap = configMap.get("CONSUMER_CONCURRENCY");
        return Integer.parseInt(fromMap != null ? fromMap : value("consumer", "mp.messaging.incoming.events-in.concurrency", "1"));
    }

    /** The image's user: Dockerfile.jvm's APP_UID. */
    long imageUid() {
        return ImageSettings.jvmImageUid();
    }

    /** The image's default JAVA_TOOL_OPTIONS (Dockerfile.jvm), which a container's own replaces. */
    List<String> imageJavaToolOptions() {
        return ImageSettings.jvmToolOptions();
    }

    /** The native image's default arguments (Dockerfile.native's CMD, its heap), which a container's args replace. */
    List<String> nativeImageArguments() {
        return ImageSettings.nativeArguments();
    }

    /** Partitions of the main topic, as bin/infra creates it. */
    int mainTopicPartitions() {
        return Integer.parseInt(match("bin/infra", "--topic \"\\$MAIN_TOPIC\"\\s*\\\\?\\s*--partitions (\\d+)"));
    }

    /** The job label values the rule files select on ({@code job="streamsre-consumer"}). */
    Set<String> ruleJobs() {
        Set<String> jobs = new TreeSet<>();
        for (Path file : ruleFiles()) {
            Matcher matcher = Pattern.compile("job=[\"']([^\"']+)[\"']").matcher(read(file));
            while (matcher.find()) {
                jobs.add(matcher.group(1));
            }
        }
        return jobs;
    }

    List<Path> ruleFiles() {
        try (Stream<Path> files = Files.list(repository.resolve("prometheus/rules"))) {
            return files.filter(f -> f.toString().endsWith(".yml")).sorted().toList();
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    private String match(String file, String regex) {
        Matcher matcher = Pattern.compile(regex).matcher(read(repository.resolve(file)));
        if (!matcher.find()) {
            throw new AssertionError(file + " no longer matches " + regex + "; update " + AppSettings.class.getSimpleName());
        }
        return matcher.group(1);
    }

    private static String read(Path file) {
        try {
            return Files.readString(file);
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    /** The {@code @WithDefault} of a Quarkus config interface's method: the extension's own default. */
    private static String defaultOf(Class<?> config, String method) {
        try {
            return config.getMethod(method).getAnnotation(WithDefault.class).value();
        } catch (NoSuchMethodException | NullPointerException e) {
            throw new AssertionError(config.getName() + "." + method + "() has no @WithDefault any more", e);
        }
    }

    /** The application's @ConfigMapping interfaces, found among its compiled classes. */
    private static List<Class<?>> configMappings() {
        Path classes;
        try {
            classes = Path.of(SpecEnvironmentConfigSource.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        } catch (URISyntaxException e) {
            throw new AssertionError(e);
        }
        List<Class<?>> found = new ArrayList<>();
        try (Stream<Path> files = Files.walk(classes)) {
            for (Path file : files.filter(f -> f.toString().endsWith(".class")).sorted().toList()) {
                String name = classes.relativize(file).toString().replace(file.getFileSystem().getSeparator(), ".").replaceAll("\\.class$", "");
                Class<?> type = Class.forName(name, false, AppSettings.class.getClassLoader());
                if (type.isAnnotationPresent(ConfigMapping.class)) {
                    found.add(type);
                }
            }
        } catch (IOException | ClassNotFoundException e) {
            throw new AssertionError(e);
        }
        if (found.isEmpty()) {
            throw new AssertionError("no @ConfigMapping interface found in " + classes);
        }
        return found;
    }

    /** Adds a mapping's properties (kebab-case method names under its prefix) in environment form. */
    private void mappingProperties(Class<?> mapping, String prefix) {
        for (Method method : mapping.getMethods()) {
            if (Modifier.isStatic(method.getModifiers()) || method.isDefault() || method.getParameterCount() > 0) {
                continue;
            }
            String property = method.isAnnotationPresent(WithParentName.class) ? prefix
                    : prefix + "." + (method.isAnnotationPresent(WithName.class) ? method.getAnnotation(WithName.class).value() : kebab(method.getName()));
            Class<?> type = method.getReturnType();
            if (Map.class.isAssignableFrom(type)) {
                mappingMapPrefixes.add(envForm(property));
            } else if (type.isInterface() && !type.getName().startsWith("java.")) {
                mappingProperties(type, property);
            } else {
                mappingVariables.add(envForm(property));
            }
        }
    }

    private static String kebab(String name) {
        return name.replaceAll("([a-z0-9])([A-Z])", "$1-$2").toLowerCase(Locale.ROOT);
    }
}
