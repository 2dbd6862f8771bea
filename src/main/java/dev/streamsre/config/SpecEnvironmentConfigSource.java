package dev.streamsre.config;

import dev.streamsre.config.Channels;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import io.smallrye.config.EnvConfigSource;

/**
 * Makes the six spec environment variables that are more than a rename of one of our settings work
 * as written; the others ({@code KAFKA_TOPIC}, {@code RATE_PER_SEC}, ...) are plain property
 * expressions in application.properties. A {@code ${VAR}} expression cannot do what these need:
 * {@code DATABASE_URL} feeds four properties (the JDBC URL, the reactive URL, the user and the
 * password) and must keep the password out of every URL; {@code DURATION=30s} is Go's syntax and
 * {@code HOT_KEY_PCT=0.8} a fraction, where our settings take a Java duration and a percentage;
 * {@code KAFKA_BROKERS} and {@code CONSUMER_CONCURRENCY} set the Kafka client's and the connector's
 * properties, which no {@code @ConfigMapping} of ours checks; {@code MAX_INFLIGHT} feeds the
 * connector's batch size through DerivedConsumerSettings, an interceptor that reads the setting
 * before property expressions are expanded (an expression there left every batch at 1 record).
 *
 * <p>Each of them is checked here, so a bad value stops the start with a message that names the
 * variable, not a derived property. The ordinal sits above application.properties (250) and below
 * real Quarkus-named environment variables (300), so {@code QUARKUS_DATASOURCE_JDBC_URL} still wins.
 *
 * <p>It is an {@link EnvConfigSource} because it is the environment, and Quarkus treats it so: the
 * build records the values of every other source as the jar's runtime defaults. As a plain source,
 * a {@code DATABASE_URL} in the shell that ran {@code ./mvnw package} put its password into the jar,
 * and a {@code MAX_INFLIGHT} there failed the build (and {@code quarkus dev}).
 */
public final class SpecEnvironmentConfigSource extends EnvConfigSource {

    static final int ORDINAL = 275;
    private static final String CHANNEL = "mp.messaging.incoming." + Channels.EVENTS_IN + ".";
    private static final Pattern HOST_PORT = Pattern.compile("[A-Za-z0-9._\\-\\[\\]:]+:\\d{1,5}");
    private static final Pattern GO_DURATION_PART = Pattern.compile("(\\d+(?:\\.\\d+)?)(ms|s|m|h)");

    /** Used by the ServiceLoader: reads the process environment. */
    public SpecEnvironmentConfigSource() {
        this(System.getenv());
    }

    /**
     * Translates the given environment.
     *
     * @throws InvalidConfigurationException naming every variable with a bad value
     */
    public SpecEnvironmentConfigSource(Map<String, String> environment) {
        super(checkedProperties(environment), ORDINAL);
    }

    private static Map<String, String> checkedProperties(Map<String, String> environment) {
        Translation translation = translate(environment);
        translation.failIfInvalid();
        return Collections.unmodifiableMap(translation.properties);
    }

    /**
     * The names of the spec's environment variables that this source reads, e.g. for a check that a
     * deployment manifest sets no variable the application ignores.
     */
    public static Set<String> variableNames() {
        return Collections.unmodifiableSet(translate(Map.of()).variables);
    }

    private static Translation translate(Map<String, String> environment) {
        Translation translation = new Translation(environment);
        translation.string("KAFKA_BROKERS", "kafka.bootstrap.servers", SpecEnvironmentConfigSource::brokers);
        translation.string("MAX_INFLIGHT", "streamsre.consumer.max-inflight", v -> positiveInt(v, 1));
        translation.string("CONSUMER_CONCURRENCY", CHANNEL + "concurrency", v -> positiveInt(v, 1));
        translation.string("HOT_KEY_PCT", "streamsre.producer.hot-key-pct", SpecEnvironmentConfigSource::fraction);
        translation.string("DURATION", "streamsre.producer.duration", SpecEnvironmentConfigSource::goDuration);
        translation.databaseUrl("DATABASE_URL");
        return translation;
    }

    @Override
    public String getName() {
        return "spec environment variables (KAFKA_BROKERS, DATABASE_URL, ...)";
    }

    /** Collects translated properties and every problem, so one start reports all bad variables. */
    private static final class Translation {
        private final Map<String, String> environment;
        private final Set<String> variables = new LinkedHashSet<>();
        private final Map<String, String> properties = new HashMap<>();
        private final List<String> problems = new ArrayList<>();

        Translation(Map<String, String> environment) {
            this.environment = environment;
        }

        void string(String variable, String property, Converter converter) {
            variables.add(variable);
            String raw = environment.get(variable);
            if (raw == null) {
                return;
            }
            try {
                properties.put(property, converter.convert(raw.trim()));
            } catch (IllegalArgumentException e) {
                problems.add(variable + "='" + raw + "': " + e.getMessage());
            }
        }

        void databaseUrl(String variable) {
            variables.add(variable);
            String raw = environment.get(variable);
            if (raw == null) {
                return;
            }
            try {
                DatabaseUrl url = DatabaseUrl.parse(raw.trim());
                properties.put("quarkus.datasource.jdbc.url", url.jdbcUrl());
                properties.put("quarkus.datasource.reactive.url", url.reactiveUrl());
                if (url.user() != null) {
                    properties.put("quarkus.datasource.username", url.user());
                }
                if (url.password() != null) {
                    properties.put("quarkus.datasource.password", url.password());
                }
            } catch (IllegalArgumentException e) {
                // Never echo the value: it may hold a password.
                problems.add(variable + ": " + e.getMessage());
            }
        }

        void failIfInvalid() {
            if (!problems.isEmpty()) {
                throw new InvalidConfigurationException("Invalid configuration: " + String.join("; ", problems));
            }
        }
    }

    @FunctionalInterface
    private interface Converter {
        String convert(String raw);
    }

    static String brokers(String raw) {
        for (String broker : raw.split(",")) {
            if (!HOST_PORT.matcher(broker.trim()).matches()) {
                throw new IllegalArgumentException("expected a comma-separated list of host:port, e.g. 127.0.0.1:9092");
            }
        }
        return raw.replace(" ", "");
    }

    static String positiveInt(String raw, int min) {
        try {
            int value = Integer.parseInt(raw);
            if (value < min) {
                throw new IllegalArgumentException("must be an integer >= " + min);
            }
            return Integer.toString(value);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("must be an integer >= " + min);
        }
    }

    /**
     * The spec's {@code HOT_KEY_PCT} is a fraction ({@code rand.Float64() < hotKeyPct}): {@code 0.8}
     * is 80 %. {@code 80%} is accepted too. A bare number above 1 is refused rather than read as a
     * percentage, since the two readings differ a hundredfold. Returns the percentage the property holds.
     */
    static String fraction(String raw) {
        String usage = "must be a fraction from 0 to 1 as in the spec (0.8 = 80 %), or a percentage with a % sign (80%)";
        try {
            if (raw.endsWith("%")) {
                double percent = Double.parseDouble(raw.substring(0, raw.length() - 1).trim());
                if (!(percent >= 0 && percent <= 100)) {
                    throw new IllegalArgumentException(usage);
                }
                return Double.toString(percent);
            }
            java.math.BigDecimal value = new java.math.BigDecimal(raw.trim());
            if (value.signum() < 0 || value.compareTo(java.math.BigDecimal.ONE) > 0) {
                throw new IllegalArgumentException(usage);
            }
            // Exact decimal arithmetic: 0.07 is 7 %, not 7.000000000000001 %.
            return Double.toString(value.movePointRight(2).doubleValue());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(usage);
        }
    }

    /** Go-style durations ({@code 30s}, {@code 5m}, {@code 1h30m}, {@code 250ms}, {@code 0}) to ISO-8601. */
    static String goDuration(String raw) {
        if (raw.equals("0")) {
            return "PT0S";
        }
        Matcher matcher = GO_DURATION_PART.matcher(raw);
        long millis = 0;
        int end = 0;
        while (matcher.find() && matcher.start() == end) {
            double amount = Double.parseDouble(matcher.group(1));
            millis += (long) (amount * switch (matcher.group(2)) {
                case "ms" -> 1L;
                case "s" -> 1_000L;
                case "m" -> 60_000L;
                default -> 3_600_000L;
            });
            end = matcher.end();
        }
        if (end == 0 || end != raw.length()) {
            throw new IllegalArgumentException("expected a duration such as 30s, 5m, 1h30m or 250ms");
        }
        return "PT" + (millis / 1000) + "." + String.format("%03d", millis % 1000) + "S";
    }

    /** The parts of a {@code postgres://user:pass@host:port/db?params} URL. */
    record DatabaseUrl(String host, int port, String database, String user, String password, String query) {

        static DatabaseUrl parse(String raw) {
            URI uri;
            try {
                uri = new URI(raw);
            } catch (URISyntaxException e) {
                throw new IllegalArgumentException("expected postgres://user:pass@host:port/db (not a valid URI)");
            }
            if (!"postgres".equals(uri.getScheme()) && !"postgresql".equals(uri.getScheme())) {
                throw new IllegalArgumentException("expected postgres://user:pass@host:port/db (scheme must be postgres or postgresql)");
            }
            if (uri.getHost() == null) {
                throw new IllegalArgumentException("expected postgres://user:pass@host:port/db (no host)");
            }
            String path = uri.getRawPath();
            if (path == null || path.length() < 2) {
                throw new IllegalArgumentException("expected postgres://user:pass@host:port/db (no database name)");
            }
            String user = null;
            String password = null;
            if (uri.getRawUserInfo() != null) {
                String[] userInfo = uri.getRawUserInfo().split(":", 2);
                user = decode(userInfo[0]);
                password = userInfo.length > 1 ? decode(userInfo[1]) : null;
            }
            int port = uri.getPort() < 0 ? 5432 : uri.getPort();
            // libpq also takes user and password as query parameters: lift them out, so that no
            // credential travels on inside a URL that a driver, a pool or a log line may print.
            List<String> kept = new ArrayList<>();
            if (uri.getRawQuery() != null) {
                for (String parameter : uri.getRawQuery().split("&")) {
                    String name = decode(parameter.contains("=") ? parameter.substring(0, parameter.indexOf('=')) : parameter);
                    String value = parameter.contains("=") ? decode(parameter.substring(parameter.indexOf('=') + 1)) : "";
                    if (name.equalsIgnoreCase("password")) {
                        password = value;
                    } else if (name.equalsIgnoreCase("user")) {
                        user = value;
                    } else if (!parameter.isEmpty()) {
                        kept.add(parameter);
                    }
                }
            }
            return new DatabaseUrl(uri.getHost(), port, decode(path.substring(1)), user, password,
                    kept.isEmpty() ? null : String.join("&", kept));
        }

        String jdbcUrl() {
            return "jdbc:postgresql://" + host + ":" + port + "/" + database + (query == null ? "" : "?" + query);
        }

        /** Credentials travel as separate properties, so they never appear in a logged URL. */
        String reactiveUrl() {
            return "postgresql://" + host + ":" + port + "/" + database + (query == null ? "" : "?" + query);
        }

        /**
         * Percent-decoding as libpq does it for connection URIs, and nothing else: {@code %XX} is
         * a byte, every other character stands for itself. Not {@link java.net.URLDecoder}, which
         * decodes HTML forms and turns {@code +} into a space (a password {@code a+b} became
         * {@code a b}). A malformed escape is refused without echoing the value (it may be a password).
         */
        static String decode(String value) {
            if (value.indexOf('%') < 0) {
                return value;
            }
            java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream(value.length());
            for (int i = 0; i < value.length(); i++) {
                char c = value.charAt(i);
                if (c != '%') {
                    bytes.writeBytes(String.valueOf(c).getBytes(StandardCharsets.UTF_8));
                    continue;
                }
                int high = i + 2 < value.length() ? Character.digit(value.charAt(i + 1), 16) : -1;
                int low = high >= 0 ? Character.digit(value.charAt(i + 2), 16) : -1;
                if (low < 0) {
                    throw new IllegalArgumentException("expected postgres://user:pass@host:port/db (a '%' must be"
                            + " followed by two hex digits)");
                }
                bytes.write(high << 4 | low);
                i += 2;
            }
            return bytes.toString(StandardCharsets.UTF_8);
        }
    }
}
