package dev.streamsre.k8s;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.KubernetesResource;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import java.io.IOException;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A kustomization rendered by {@code kubectl kustomize} and read into fabric8's typed Kubernetes
 * objects, strictly: fabric8 keeps a field it does not know in the object's additionalProperties,
 * so a misspelt field ({@code readinesProbe}) would pass a plain parse and be dropped by the API
 * server; here it is an error. Custom resources (KEDA, Prometheus Operator) have no typed model
 * and stay {@link GenericKubernetesResource}s, checked field by field by the test.
 */
record Manifests(String kustomization, List<HasMetadata> objects) {

    private static final KubernetesSerialization SERIALIZATION = new KubernetesSerialization();
    private static final YAMLMapper YAML = new YAMLMapper();

    /** Runs {@code kubectl kustomize} on a directory of the repository and parses its output. */
    static Manifests render(Path repository, String kustomization) {
        String yaml = kustomize(repository, kustomization);
        return new Manifests(kustomization, parse(yaml, kustomization));
    }

    /**
     * Reads a stream of YAML documents into typed objects.
     *
     * @throws AssertionError naming each object and field fabric8's model does not know
     */
    static List<HasMetadata> parse(String yaml, String source) {
        List<HasMetadata> objects = new ArrayList<>();
        List<String> problems = new ArrayList<>();
        try (MappingIterator<JsonNode> documents = YAML.readerFor(JsonNode.class).readValues(yaml)) {
            while (documents.hasNext()) {
                JsonNode document = documents.next();
                if (document == null || document.isNull() || document.isEmpty()) {
                    continue;
                }
                KubernetesResource resource = SERIALIZATION.convertValue(document, KubernetesResource.class);
                if (!(resource instanceof HasMetadata object)) {
                    throw new AssertionError(source + ": not a Kubernetes object: " + document);
                }
                unknownFields(object, "", problems, describe(object) + ": ");
                objects.add(object);
            }
        } catch (IOException e) {
            throw new AssertionError(source + ": not valid YAML: " + e.getMessage(), e);
        }
        if (!problems.isEmpty()) {
            throw new AssertionError(source + ": fields the Kubernetes API does not know:\n  " + String.join("\n  ", problems));
        }
        return objects;
    }

    /** {@code Kind/name}, as kubectl prints it. */
    static String describe(HasMetadata object) {
        return object.getKind() + "/" + object.getMetadata().getName();
    }

    <T extends HasMetadata> List<T> all(Class<T> type) {
        return objects.stream().filter(type::isInstance).map(type::cast).toList();
    }

    <T extends HasMetadata> Optional<T> find(Class<T> type, String name) {
        return all(type).stream().filter(o -> o.getMetadata().getName().equals(name)).findFirst();
    }

    <T extends HasMetadata> T get(Class<T> type, String name) {
        return find(type, name).orElseThrow(() -> new AssertionError(
                kustomization + " renders no " + type.getSimpleName() + " named " + name + "; it has " + objects.stream().map(Manifests::describe).toList()));
    }

    /** The custom resources of one kind (ScaledObject, PodMonitor, PrometheusRule). */
    List<GenericKubernetesResource> custom(String kind) {
        return all(GenericKubernetesResource.class).stream().filter(o -> o.getKind().equals(kind)).toList();
    }

    private static String kustomize(Path repository, String kustomization) {
        try {
            Path stderr = Files.createTempFile("kustomize", ".stderr");
            try {
                Process process = new ProcessBuilder("kubectl", "kustomize", kustomization)
                        .directory(repository.toFile())
                        .redirectError(stderr.toFile())
                        .start();
                process.getOutputStream().close();
                String stdout = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                if (!process.waitFor(60, TimeUnit.SECONDS)) {
                    process.destroyForcibly();
                    throw new AssertionError("kubectl kustomize " + kustomization + " did not finish in 60 s");
                }
                if (process.exitValue() != 0) {
                    throw new AssertionError("kubectl kustomize " + kustomization + " failed (exit " + process.exitValue() + "):\n"
                            + Files.readString(stderr));
                }
                return stdout;
            } finally {
                Files.deleteIfExists(stderr);
            }
        } catch (IOException e) {
            throw new AssertionError("cannot run kubectl (.ci/check-kubectl installs it; the build runs it before the tests): " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    /**
     * Walks a fabric8 object's fields and reports every non-empty additionalProperties: a field in
     * the manifest that the typed model (and so the Kubernetes API) does not have.
     */
    static void unknownFields(Object value, String path, List<String> problems, String prefix) {
        if (value == null || value instanceof String || value instanceof Number || value instanceof Boolean || value instanceof Enum) {
            return;
        }
        if (value instanceof Map<?, ?> map) {
            map.forEach((key, item) -> unknownFields(item, path + "." + key, problems, prefix));
            return;
        }
        if (value instanceof Collection<?> items) {
            int index = 0;
            for (Object item : items) {
                unknownFields(item, path + "[" + index++ + "]", problems, prefix);
            }
            return;
        }
        if (!value.getClass().getName().startsWith("io.fabric8.")) {
            return;
        }
        for (Field field : fields(value.getClass())) {
            Object fieldValue = read(field, value);
            if (field.getName().equals("additionalProperties")) {
                // A custom resource is additionalProperties by design (spec, status); its metadata is typed.
                if (!(value instanceof GenericKubernetesResource) && fieldValue instanceof Map<?, ?> unknown && !unknown.isEmpty()) {
                    problems.add(prefix + (path.isEmpty() ? "(top level)" : path.substring(1)) + ": unknown field(s) " + unknown.keySet());
                }
                continue;
            }
            unknownFields(fieldValue, path + "." + field.getName(), problems, prefix);
        }
    }

    private static List<Field> fields(Class<?> type) {
        List<Field> fields = new ArrayList<>();
        for (Class<?> c = type; c != null && c != Object.class; c = c.getSuperclass()) {
            Stream.of(c.getDeclaredFields()).filter(f -> !Modifier.isStatic(f.getModifiers()) && !f.isSynthetic()).forEach(fields::add);
        }
        return fields;
    }

    private static Object read(Field field, Object owner) {
        try {
            field.setAccessible(true);
            return field.get(owner);
        } catch (ReflectiveOperationException | RuntimeException e) {
            throw new AssertionError("cannot read " + field + ": " + e, e);
        }
    }
}
