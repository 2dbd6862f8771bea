package dev.streamsre.k8s;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.tuple;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerPort;
import io.fabric8.kubernetes.api.model.EnvFromSource;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.LabelSelector;
import io.fabric8.kubernetes.api.model.LabelSelectorRequirement;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.PodTemplateSpec;
import io.fabric8.kubernetes.api.model.Probe;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.VolumeMount;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.StatefulSet;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.api.model.policy.v1.PodDisruptionBudget;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The Kubernetes manifests in k8s/ render (kubectl kustomize, base and both overlays), read
 * strictly into typed objects, and agree with the application's own configuration
 * ({@link AppSettings}): the variables they set are ones it reads, its ports, health and metrics
 * paths, profiles, image user and graceful-stop budget; the Secrets and ConfigMaps they reference
 * exist (dev); KEDA scales the consumer's StatefulSet within the partitions; the PodMonitor's port
 * exists and gives the job names the alert rules use; the PrometheusRule is prometheus/rules.
 * Prints one line per rendered object saying what was checked.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class KubernetesManifestsTest {

    private static final Path REPOSITORY = Path.of("").toAbsolutePath();
    private static final String BASE = "k8s/base";
    private static final String DEV = "k8s/overlays/dev";
    private static final String PRODUCTION = "k8s/overlays/production";
    private static final String PRODUCTION_NATIVE = "k8s/overlays/production-native";
    private static final String CONSUMER = "streamsre-consumer";
    private static final String GROUP_INSTANCE_ID = "STREAMSRE_CONSUMER_GROUP_INSTANCE_ID";
    private static final Set<String> RECOMMENDED_LABELS = Set.of(
            "app.kubernetes.io/name", "app.kubernetes.io/component", "app.kubernetes.io/part-of");
    /** JVM flags that size the heap: a container may choose its own. */
    private static final Pattern HEAP_FLAG = Pattern.compile("-XX:(MaxRAMPercentage|InitialRAMPercentage|MinRAMPercentage)=.*|-Xm[xs].*");
    /** What the JVM needs outside the heap (metaspace, threads, Kafka and Netty buffers) at least. */
    private static final long NON_HEAP_BYTES = 128L << 20;
    /** The same for the native executable, which has no metaspace, JIT or class data to map. */
    private static final long NATIVE_NON_HEAP_BYTES = 64L << 20;

    private final AppSettings app = new AppSettings(REPOSITORY);
    private final Map<String, Manifests> rendered = new LinkedHashMap<>();
    /** kustomization -> "Kind/name" -> what was checked, printed at the end. */
    private final Map<String, Map<String, Set<String>>> report = new LinkedHashMap<>();

    @BeforeAll
    void render() {
        for (String kustomization : List.of(BASE, DEV, PRODUCTION, PRODUCTION_NATIVE)) {
            Manifests manifests = Manifests.render(REPOSITORY, kustomization);
            rendered.put(kustomization, manifests);
            Map<String, Set<String>> lines = new LinkedHashMap<>();
            manifests.objects().forEach(o -> lines.put(Manifests.describe(o), new LinkedHashSet<>(List.of("typed " + o.getApiVersion()))));
            report.put(kustomization, lines);
        }
    }

    @AfterAll
    void printWhatWasChecked() {
        System.out.println("[k8s] @ConfigMapping interfaces read: " + String.join(", ", app.mappings()));
        report.forEach((kustomization, lines) -> lines.forEach((object, checks) ->
                System.out.println("[k8s] " + kustomization + " " + object + ": " + String.join("; ", checks))));
    }

    @Test
    void aFieldTheApiDoesNotKnowFailsTheParse() {
        String typo = """
                apiVersion: apps/v1
                kind: StatefulSet
                metadata:
                  name: typo
                spec:
                  template:
                    spec:
                      containers:
                        - name: app
                          image: app
                          readinesProbe:
                            httpGet:
                              path: /q/health/ready
                              port: http
                """;

        assertThatThrownBy(() -> Manifests.parse(typo, "typo.yaml"))
                .hasMessageContaining("StatefulSet/typo: spec.template.spec.containers[0]: unknown field(s) [readinesProbe]");
        assertThat(Manifests.parse(typo.replace("readinesProbe", "readinessProbe"), "fixed.yaml")).hasSize(1);
    }

    @Test
    void everyObjectCarriesTheRecommendedLabels() {
        forEachRendered((manifests, object) -> {
            assertThat(object.getMetadata().getLabels()).as(where(manifests, object)).containsKeys(RECOMMENDED_LABELS.toArray(String[]::new));
            podTemplate(object).ifPresent(template -> assertThat(template.getMetadata().getLabels())
                    .as(where(manifests, object) + " pod template").containsKeys(RECOMMENDED_LABELS.toArray(String[]::new)));
            check(manifests, object, "labels name/component/part-of");
        });
    }

    @Test
    void containersSetOnlyVariablesTheApplicationReads() {
        forEachContainer((manifests, object, container) -> {
            Map<AppSettings.Source, Integer> counts = new EnumMap<>(AppSettings.Source.class);
            List<String> unknown = new ArrayList<>();
            for (String variable : variables(manifests, container)) {
                app.sourceOf(variable).ifPresentOrElse(source -> counts.merge(source, 1, Integer::sum), () -> unknown.add(variable));
            }
            assertThat(unknown).as(where(manifests, object) + " container " + container.getName()
                    + ": variables the application does not read (not a spec variable, application.properties key,"
                    + " @ConfigMapping property or kafka.* client setting)").isEmpty();
            check(manifests, object, "env " + counts.entrySet().stream().map(e -> e.getValue() + " " + e.getKey().label).collect(Collectors.joining(", ")));
        });
    }

    @Test
    void quarkusProfilesAreTheApplicationsModes() {
        forEachContainer((manifests, object, container) -> {
            String profile = profile(container);
            assertThat(AppSettings.profiles()).as(where(manifests, object) + " QUARKUS_PROFILE").contains(profile);
            check(manifests, object, "profile " + profile);
        });
        assertThat(rendered.get(DEV).all(Job.class).stream().map(job -> profile(job.getSpec().getTemplate().getSpec().getContainers().get(0))))
                .as("the dev overlay's Jobs").containsExactlyInAnyOrder("migrate", "producer", "replay");
    }

    @Test
    void portsAndProbesAreTheApplicationsOwn() {
        forEachContainer((manifests, object, container) -> {
            String profile = profile(container);
            if (!app.httpEnabled(profile)) {
                assertThat(container.getPorts()).as(where(manifests, object) + ": " + profile + " serves no HTTP (quarkus.http.host-enabled=false)").isEmpty();
                assertThat(Stream.of(container.getStartupProbe(), container.getLivenessProbe(), container.getReadinessProbe()).filter(Objects::nonNull))
                        .as(where(manifests, object) + ": probes of a mode without HTTP").isEmpty();
                check(manifests, object, "no HTTP, no port, no probe (" + profile + ")");
                return;
            }
            int port = app.httpPort(profile);
            assertThat(container.getPorts()).as(where(manifests, object) + " ports").extracting(ContainerPort::getName, ContainerPort::getContainerPort)
                    .containsExactly(tuple("http", port));
            List<String> probes = new ArrayList<>();
            probe(manifests, object, container, profile, "startup", container.getStartupProbe(), probes);
            probe(manifests, object, container, profile, "liveness", container.getLivenessProbe(), probes);
            probe(manifests, object, container, profile, "readiness", container.getReadinessProbe(), probes);
            if (object instanceof StatefulSet) {
                assertThat(probes).as(where(manifests, object) + ": a long-running mode needs all three probes").hasSize(3);
            }
            check(manifests, object, "port http=" + port + (probes.isEmpty() ? "" : ", probes " + String.join(" ", probes)));
        });
    }

    @Test
    void podsRunAsTheImagesNonRootUserWithNothingWritableButTmp() {
        long uid = app.imageUid();
        forEachRendered((manifests, object) -> podTemplate(object).ifPresent(template -> {
            PodSpec pod = template.getSpec();
            String at = where(manifests, object);
            assertThat(pod.getSecurityContext().getRunAsNonRoot()).as(at + " runAsNonRoot").isTrue();
            assertThat(pod.getSecurityContext().getRunAsUser()).as(at + " runAsUser (Dockerfile.jvm's APP_UID)").isEqualTo(uid);
            assertThat(pod.getSecurityContext().getSeccompProfile().getType()).as(at + " seccompProfile").isEqualTo("RuntimeDefault");
            assertThat(pod.getAutomountServiceAccountToken()).as(at + " automountServiceAccountToken").isFalse();
            for (Container container : pod.getContainers()) {
                var security = container.getSecurityContext();
                assertThat(security.getAllowPrivilegeEscalation()).as(at + " allowPrivilegeEscalation").isFalse();
                assertThat(security.getReadOnlyRootFilesystem()).as(at + " readOnlyRootFilesystem").isTrue();
                assertThat(security.getCapabilities().getDrop()).as(at + " capabilities.drop").containsExactly("ALL");
                VolumeMount tmp = container.getVolumeMounts().stream().filter(m -> m.getMountPath().equals("/tmp")).findFirst()
                        .orElseThrow(() -> new AssertionError(at + ": no volume at /tmp, the one place the JVM and Vert.x write"));
                assertThat(pod.getVolumes()).as(at + " volumes").filteredOn(v -> v.getName().equals(tmp.getName()))
                        .singleElement().extracting(Volume::getEmptyDir).isNotNull();
            }
            check(manifests, object, "non-root uid " + uid + ", read-only root, /tmp emptyDir, no privilege escalation, capabilities dropped, RuntimeDefault seccomp");
        }));
    }

    @Test
    void theJvmFitsItsMemoryLimitAndKeepsTheImagesFlags() {
        List<String> imageFlags = app.imageJavaToolOptions().stream().filter(flag -> !HEAP_FLAG.matcher(flag).matches()).toList();
        forEachContainer((manifests, object, container) -> {
            String at = where(manifests, object);
            Quantity limit = container.getResources().getLimits().get("memory");
            assertThat(limit).as(at + " memory limit").isNotNull();
            long limitBytes = Quantity.getAmountInBytes(limit).longValue();
            if (container.getImage().contains("streamsre-native")) {
                // The native executable takes its heap as arguments (the image's CMD unless the container's
                // args replace it) and reads no JAVA_TOOL_OPTIONS.
                assertThat(env(container, "JAVA_TOOL_OPTIONS")).as(at + " JAVA_TOOL_OPTIONS on a native image").isEmpty();
                List<String> arguments = container.getArgs().isEmpty() ? app.nativeImageArguments() : container.getArgs();
                assertThat(String.join(" ", arguments)).as(at + " native heap argument").containsPattern("-Xmx\\d+[mMgG]");
                long heap = maxHeap(String.join(" ", arguments), limitBytes);
                assertThat(limitBytes - heap).as(at + ": memory limit " + limit + " minus the native heap (" + (heap >> 20)
                        + " MiB) leaves room outside the heap").isGreaterThanOrEqualTo(NATIVE_NON_HEAP_BYTES);
                check(manifests, object, "native heap " + (heap >> 20) + " MiB of a " + limit + " limit");
                return;
            }
            String options = env(container, "JAVA_TOOL_OPTIONS").orElse(String.join(" ", app.imageJavaToolOptions()));
            assertThat(List.of(options.split("\\s+"))).as(at + " JAVA_TOOL_OPTIONS keeps the image's " + imageFlags).containsAll(imageFlags);
            long heap = maxHeap(options, limitBytes);
            assertThat(limitBytes - heap).as(at + ": memory limit " + limit + " minus the heap (" + (heap >> 20) + " MiB) leaves room outside the heap")
                    .isGreaterThanOrEqualTo(NON_HEAP_BYTES);
            check(manifests, object, "heap " + (heap >> 20) + " MiB of a " + limit + " limit");
        });
    }

    @Test
    void referencedConfigMapsAndSecretsExistWithTheirKeys() {
        Manifests dev = rendered.get(DEV);
        forEachContainer(dev, (manifests, object, container) -> {
            List<String> references = new ArrayList<>();
            for (EnvFromSource from : container.getEnvFrom()) {
                if (from.getConfigMapRef() != null) {
                    reference(dev, object, "ConfigMap", from.getConfigMapRef().getName(), from.getConfigMapRef().getOptional(), null, references);
                }
                if (from.getSecretRef() != null) {
                    reference(dev, object, "Secret", from.getSecretRef().getName(), from.getSecretRef().getOptional(), null, references);
                }
            }
            for (EnvVar variable : container.getEnv()) {
                var source = variable.getValueFrom();
                if (source != null && source.getConfigMapKeyRef() != null) {
                    reference(dev, object, "ConfigMap", source.getConfigMapKeyRef().getName(), source.getConfigMapKeyRef().getOptional(), source.getConfigMapKeyRef().getKey(), references);
                }
                if (source != null && source.getSecretKeyRef() != null) {
                    reference(dev, object, "Secret", source.getSecretKeyRef().getName(), source.getSecretKeyRef().getOptional(), source.getSecretKeyRef().getKey(), references);
                }
            }
            check(manifests, object, "refs " + String.join(", ", references));
        });
        // Least privilege: the migration role's Secret reaches the migrate Job only.
        forEachContainer((manifests, object, container) -> {
            boolean migration = container.getEnvFrom().stream().anyMatch(f -> f.getSecretRef() != null && f.getSecretRef().getName().equals("streamsre-database-migration"));
            assertThat(migration).as(where(manifests, object) + " uses the migration role's Secret").isEqualTo(profile(container).equals("migrate"));
        });
        // Production's Kafka credentials are required, not optional, wherever Kafka is used.
        forEachContainer(rendered.get(PRODUCTION), (manifests, object, container) -> container.getEnvFrom().stream()
                .filter(f -> f.getSecretRef() != null && f.getSecretRef().getName().equals("streamsre-kafka"))
                .forEach(f -> {
                    assertThat(f.getSecretRef().getOptional()).as(where(manifests, object) + " streamsre-kafka optional").isFalse();
                    check(manifests, object, "Secret streamsre-kafka required");
                }));
    }

    @Test
    void theConsumerIsAStatefulSetWithStaticMembership() {
        for (Manifests manifests : rendered.values()) {
            StatefulSet consumer = manifests.get(StatefulSet.class, CONSUMER);
            String at = where(manifests, consumer);
            assertThat(consumer.getSpec().getPodManagementPolicy()).as(at).isEqualTo("Parallel");
            assertThat(consumer.getSpec().getUpdateStrategy().getType()).as(at).isEqualTo("RollingUpdate");
            Container container = consumer.getSpec().getTemplate().getSpec().getContainers().get(0);
            EnvVar instanceId = container.getEnv().stream().filter(e -> e.getName().equals(GROUP_INSTANCE_ID)).findFirst()
                    .orElseThrow(() -> new AssertionError(at + " sets no " + GROUP_INSTANCE_ID));
            assertThat(instanceId.getValueFrom().getFieldRef().getFieldPath()).as(at + " " + GROUP_INSTANCE_ID).isEqualTo("metadata.name");
            Map<String, String> config = configMap(manifests);
            for (String channel : List.of("events-in", "dlq-in")) {
                String variable = AppSettings.envForm("mp.messaging.incoming." + channel + ".session.timeout.ms");
                assertThat(app.sourceOf(variable)).as(variable + " is an application.properties key").contains(AppSettings.Source.PROPERTIES);
                assertThat(config).as(at + ": static members need a session timeout longer than a restart").containsEntry(variable, "30000");
            }
            long grace = consumer.getSpec().getTemplate().getSpec().getTerminationGracePeriodSeconds();
            assertThat(grace).as(at + " terminationGracePeriodSeconds above quarkus.shutdown.timeout").isGreaterThan(app.shutdownTimeout().toSeconds());
            check(manifests, consumer, "Parallel, RollingUpdate, " + GROUP_INSTANCE_ID + " from metadata.name"
                    + ", session timeouts 30 s, grace " + grace + " s > shutdown " + app.shutdownTimeout().toSeconds() + " s");

            Service service = manifests.get(Service.class, consumer.getSpec().getServiceName());
            assertThat(service.getSpec().getClusterIP()).as(where(manifests, service) + " headless").isEqualTo("None");
            assertThat(consumer.getSpec().getTemplate().getMetadata().getLabels()).as(where(manifests, service) + " selects the consumer pods")
                    .containsAllEntriesOf(service.getSpec().getSelector());
            service.getSpec().getPorts().forEach(port -> assertThat(namedPorts(consumer.getSpec().getTemplate())).as(where(manifests, service) + " targetPort")
                    .contains(port.getTargetPort().getStrVal()));
            check(manifests, service, "headless governing Service of StatefulSet/" + CONSUMER + ", port " + service.getSpec().getPorts().get(0).getName());

            PodDisruptionBudget budget = manifests.get(PodDisruptionBudget.class, CONSUMER);
            assertThat(budget.getSpec().getMaxUnavailable()).as(where(manifests, budget)).isEqualTo(new IntOrString(1));
            assertThat(selects(budget.getSpec().getSelector(), consumer.getSpec().getTemplate())).as(where(manifests, budget) + " selects the consumer").isTrue();
            check(manifests, budget, "maxUnavailable 1 of StatefulSet/" + CONSUMER);
        }
        assertThat(rendered.get(PRODUCTION).get(StatefulSet.class, CONSUMER).getSpec().getReplicas()).as("production replicas").isEqualTo(3);
    }

    @Test
    void kedaScalesTheStatefulSetWithinThePartitions() {
        int partitions = app.mainTopicPartitions();
        for (Manifests manifests : rendered.values()) {
            GenericKubernetesResource scaler = single(manifests, "ScaledObject");
            String at = where(manifests, scaler);
            assertThat(scaler.getApiVersion()).as(at).isEqualTo("keda.sh/v1alpha1");
            assertThat((String) scaler.get("spec", "scaleTargetRef", "kind")).as(at + " scaleTargetRef.kind").isEqualTo("StatefulSet");
            String target = scaler.get("spec", "scaleTargetRef", "name");
            StatefulSet consumer = manifests.get(StatefulSet.class, target);
            int concurrency = app.consumerConcurrency(configMap(manifests));
            int min = ((Number) scaler.get("spec", "minReplicaCount")).intValue();
            int max = ((Number) scaler.get("spec", "maxReplicaCount")).intValue();
            assertThat(max).as(at + ": more than " + partitions + " partitions / " + concurrency + " consumers per pod would be idle").isLessThanOrEqualTo(partitions / concurrency);
            assertThat(min).as(at + " minReplicaCount").isBetween(1, max);
            List<Map<String, Object>> triggers = scaler.get("spec", "triggers");
            assertThat(triggers).as(at + " triggers").isNotEmpty();
            for (Map<String, Object> trigger : triggers) {
                @SuppressWarnings("unchecked")
                Map<String, Object> metadata = (Map<String, Object>) trigger.get("metadata");
                if ("prometheus".equals(trigger.get("type"))) {
                    String query = (String) metadata.get("query");
                    assertThat(query).as(at + " query: the consumer's own lag gauge, of the consumer's scrape job")
                            .contains("consumer_lag{").contains("job=\"" + jobOf(manifests, consumer.getSpec().getTemplate()) + "\"");
                }
            }
            check(manifests, scaler, "scales StatefulSet/" + target + " " + min + ".." + max + " (<= " + partitions + " partitions / " + concurrency
                    + " consumers per pod), triggers " + triggers.stream().map(t -> String.valueOf(t.get("type"))).toList());
        }
    }

    @Test
    void podMonitorScrapesANamedPortWithTheRulesJobNames() {
        for (Manifests manifests : rendered.values()) {
            GenericKubernetesResource monitor = single(manifests, "PodMonitor");
            String at = where(manifests, monitor);
            LabelSelector selector = new ObjectMapper().convertValue(monitor.get("spec", "selector"), LabelSelector.class);
            List<Map<String, Object>> endpoints = monitor.get("spec", "podMetricsEndpoints");
            Set<String> jobs = new LinkedHashSet<>();
            List<String> targets = new ArrayList<>();
            forEachRendered(manifests, object -> podTemplate(object).filter(template -> selects(selector, template)).ifPresent(template -> {
                String profile = profile(template.getSpec().getContainers().get(0));
                for (Map<String, Object> endpoint : endpoints) {
                    assertThat(namedPorts(template)).as(at + " port on " + where(manifests, object)).contains((String) endpoint.get("port"));
                    assertThat(endpoint.get("path")).as(at + " path").isEqualTo(app.metricsPath(profile));
                }
                String job = jobOf(manifests, template);
                jobs.add(job);
                targets.add(Manifests.describe(object) + " as job " + job);
            }));
            assertThat(targets).as(at + " selects the consumer").anyMatch(t -> t.startsWith("StatefulSet/" + CONSUMER));
            assertThat(jobs).as(at + ": the consumer's job name, which prometheus/rules select on").contains("streamsre-consumer");
            // The load producer is not deployed here; should it be (an overlay, a load test), the
            // monitor selects its component too and names its job as the rules do.
            List<Map<String, Object>> expressions = monitor.get("spec", "selector", "matchExpressions");
            Set<String> selectable = new LinkedHashSet<>();
            expressions.stream().filter(e -> "app.kubernetes.io/component".equals(e.get("key")))
                    .forEach(e -> ((List<?>) e.get("values")).forEach(component -> selectable.add("streamsre-" + component)));
            assertThat(selectable).as(at + ": every job name of the application's that prometheus/rules select on")
                    .containsAll(app.ruleJobs().stream().filter(job -> job.startsWith("streamsre-")).toList());
            check(manifests, monitor, "scrapes " + String.join(", ", targets) + " at " + app.metricsPath("consumer") + " on port http");
        }
    }

    /**
     * k8s/monitoring (applied beside an overlay) scrapes the dependencies' exporters under the job
     * names the dependency rules read, and the PostgreSQL exporter mounts the generated queries.
     */
    @Test
    void theDependencyExportersAreScrapedWithTheRulesJobNames() {
        Manifests manifests = Manifests.render(REPOSITORY, "k8s/monitoring");
        Set<String> jobs = new TreeSet<>();
        for (GenericKubernetesResource monitor : manifests.objects().stream()
                .filter(o -> o.getKind().equals("PodMonitor")).map(GenericKubernetesResource.class::cast).toList()) {
            List<Map<String, Object>> endpoints = monitor.get("spec", "podMetricsEndpoints");
            for (Map<String, Object> endpoint : endpoints) {
                for (Object relabeling : (List<?>) endpoint.get("relabelings")) {
                    Map<?, ?> rule = (Map<?, ?>) relabeling;
                    if ("job".equals(rule.get("targetLabel"))) {
                        jobs.add((String) rule.get("replacement"));
                    }
                }
            }
        }
        Set<String> dependencyJobs = new TreeSet<>(app.ruleJobs());
        // Redpanda is docker-compose's broker (its own /public_metrics, job redpanda); on Kubernetes
        // the brokers are Apache Kafka's, scraped through their JMX exporter as kafka-broker.
        dependencyJobs.removeIf(job -> job.startsWith("streamsre-") || job.equals("redpanda"));
        assertThat(jobs).as("k8s/monitoring's PodMonitors name the jobs prometheus/rules/streamsre-dependencies.yml reads")
                .isEqualTo(dependencyJobs);
        Deployment exporter = manifests.all(Deployment.class).stream().filter(d -> d.getMetadata().getName().equals("postgres-exporter"))
                .findFirst().orElseThrow();
        PodSpec pod = exporter.getSpec().getTemplate().getSpec();
        assertThat(pod.getSecurityContext().getRunAsNonRoot()).as("postgres-exporter runAsNonRoot").isTrue();
        assertThat(pod.getVolumes()).as("postgres-exporter mounts the generated queries ConfigMap")
                .anyMatch(volume -> volume.getConfigMap() != null
                        && volume.getConfigMap().getName().equals("streamsre-postgres-exporter-queries"));
        assertThat(manifests.objects()).as("the ConfigMaps bin/k8s-rules generates from infra/")
                .extracting(o -> o.getKind() + "/" + o.getMetadata().getName())
                .contains("ConfigMap/streamsre-postgres-exporter-queries", "ConfigMap/streamsre-kafka-metrics");
        System.out.println("[k8s] k8s/monitoring: PodMonitors for jobs " + jobs + "; postgres-exporter non-root with the queries");
    }

    @Test
    void thePrometheusRuleIsGeneratedFromPrometheusRules() throws IOException, InterruptedException {
        Process check = new ProcessBuilder("bash", "bin/k8s-rules", "--check").directory(REPOSITORY.toFile()).redirectErrorStream(true).start();
        String output = new String(check.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(check.waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(check.exitValue()).as("bin/k8s-rules --check:\n" + output).isZero();

        YAMLMapper yaml = new YAMLMapper();
        List<Object> groups = new ArrayList<>();
        for (Path file : app.ruleFiles()) {
            groups.addAll((List<?>) yaml.readValue(file.toFile(), Map.class).get("groups"));
        }
        for (Manifests manifests : rendered.values()) {
            GenericKubernetesResource rule = single(manifests, "PrometheusRule");
            assertThat(rule.getApiVersion()).isEqualTo("monitoring.coreos.com/v1");
            assertThat((Object) rule.get("spec", "groups")).as(where(manifests, rule) + " spec.groups").isEqualTo(groups);
            check(manifests, rule, groups.size() + " groups equal to prometheus/rules/*.yml; bin/k8s-rules --check passes");
        }
    }

    // ---------------------------------------------------------------------------------------------

    @FunctionalInterface
    private interface ContainerCheck {
        void check(Manifests manifests, HasMetadata object, Container container);
    }

    @FunctionalInterface
    private interface ObjectCheck {
        void check(Manifests manifests, HasMetadata object);
    }

    private void forEachRendered(ObjectCheck check) {
        rendered.values().forEach(manifests -> manifests.objects().forEach(object -> check.check(manifests, object)));
    }

    private static void forEachRendered(Manifests manifests, Consumer<HasMetadata> check) {
        manifests.objects().forEach(check);
    }

    private void forEachContainer(ContainerCheck check) {
        rendered.values().forEach(manifests -> forEachContainer(manifests, check));
    }

    private static void forEachContainer(Manifests manifests, ContainerCheck check) {
        manifests.objects().forEach(object -> podTemplate(object).ifPresent(
                template -> template.getSpec().getContainers().forEach(container -> check.check(manifests, object, container))));
    }

    private void check(Manifests manifests, HasMetadata object, String what) {
        report.get(manifests.kustomization()).get(Manifests.describe(object)).add(what);
    }

    private static String where(Manifests manifests, HasMetadata object) {
        return manifests.kustomization() + " " + Manifests.describe(object);
    }

    private static Optional<PodTemplateSpec> podTemplate(HasMetadata object) {
        if (object instanceof StatefulSet set) {
            return Optional.of(set.getSpec().getTemplate());
        }
        if (object instanceof Job job) {
            return Optional.of(job.getSpec().getTemplate());
        }
        assertThat(object.getKind()).as("a workload kind this test does not know yet").isNotIn("Deployment", "DaemonSet", "CronJob", "Pod", "ReplicaSet");
        return Optional.empty();
    }

    private static GenericKubernetesResource single(Manifests manifests, String kind) {
        List<GenericKubernetesResource> found = manifests.custom(kind);
        assertThat(found).as(manifests.kustomization() + " " + kind).hasSize(1);
        return found.get(0);
    }

    private static String profile(Container container) {
        return env(container, "QUARKUS_PROFILE").orElseThrow(() -> new AssertionError("container " + container.getName() + " sets no QUARKUS_PROFILE"));
    }

    private static Optional<String> env(Container container, String name) {
        return container.getEnv().stream().filter(e -> e.getName().equals(name)).map(EnvVar::getValue).filter(Objects::nonNull).findFirst();
    }

    /** The container's variables: its env, and the keys of the ConfigMaps and Secrets it takes whole. */
    private static List<String> variables(Manifests manifests, Container container) {
        List<String> names = new ArrayList<>();
        container.getEnv().forEach(e -> names.add(e.getName()));
        for (EnvFromSource from : container.getEnvFrom()) {
            String prefix = Objects.requireNonNullElse(from.getPrefix(), "");
            if (from.getConfigMapRef() != null) {
                manifests.find(ConfigMap.class, from.getConfigMapRef().getName()).ifPresent(map -> map.getData().keySet().forEach(k -> names.add(prefix + k)));
            }
            if (from.getSecretRef() != null) {
                manifests.find(Secret.class, from.getSecretRef().getName()).ifPresent(secret -> secretKeys(secret).forEach(k -> names.add(prefix + k)));
            }
        }
        return names;
    }

    private static Set<String> secretKeys(Secret secret) {
        Set<String> keys = new LinkedHashSet<>();
        if (secret.getData() != null) {
            keys.addAll(secret.getData().keySet());
        }
        if (secret.getStringData() != null) {
            keys.addAll(secret.getStringData().keySet());
        }
        return keys;
    }

    private static Map<String, String> configMap(Manifests manifests) {
        return manifests.get(ConfigMap.class, "streamsre-config").getData();
    }

    private static void reference(Manifests manifests, HasMetadata object, String kind, String name, Boolean optional, String key, List<String> references) {
        Optional<Set<String>> keys = kind.equals("Secret")
                ? manifests.find(Secret.class, name).map(KubernetesManifestsTest::secretKeys)
                : manifests.find(ConfigMap.class, name).map(map -> map.getData().keySet());
        if (keys.isEmpty()) {
            assertThat(Boolean.TRUE.equals(optional)).as(where(manifests, object) + ": " + kind + " " + name + " is not rendered and not optional").isTrue();
            references.add(kind + " " + name + " (optional, absent)");
            return;
        }
        if (key != null) {
            assertThat(keys.get()).as(where(manifests, object) + ": key of " + kind + " " + name).contains(key);
        }
        references.add(kind + " " + name + (key != null ? "." + key : " " + keys.get()));
    }

    private void probe(Manifests manifests, HasMetadata object, Container container, String profile, String kind, Probe probe, List<String> probes) {
        if (probe == null) {
            return;
        }
        String at = where(manifests, object) + " " + kind + "Probe";
        assertThat(probe.getHttpGet()).as(at + " is an HTTP GET").isNotNull();
        assertThat(probe.getHttpGet().getPath()).as(at + " path").isEqualTo(app.healthPath(profile, kind));
        IntOrString port = probe.getHttpGet().getPort();
        assertThat(port.getStrVal() != null ? port.getStrVal() : String.valueOf(port.getIntVal())).as(at + " port")
                .isIn("http", String.valueOf(app.httpPort(profile)));
        probes.add(probe.getHttpGet().getPath());
    }

    private static Set<String> namedPorts(PodTemplateSpec template) {
        return template.getSpec().getContainers().stream().flatMap(c -> c.getPorts().stream()).map(ContainerPort::getName)
                .filter(Objects::nonNull).collect(Collectors.toSet());
    }

    private static long maxHeap(String options, long limitBytes) {
        Matcher xmx = Pattern.compile("-Xmx(\\d+)([kKmMgG]?)").matcher(options);
        if (xmx.find()) {
            long amount = Long.parseLong(xmx.group(1));
            return switch (xmx.group(2).toLowerCase()) {
                case "k" -> amount << 10;
                case "m" -> amount << 20;
                case "g" -> amount << 30;
                default -> amount;
            };
        }
        Matcher percentage = Pattern.compile("-XX:MaxRAMPercentage=(\\d+(?:\\.\\d+)?)").matcher(options);
        // The JVM's own default is 25 %.
        double percent = percentage.find() ? Double.parseDouble(percentage.group(1)) : 25;
        return (long) (limitBytes * percent / 100);
    }

    /** Whether a label selector (matchLabels and matchExpressions) selects a pod template. */
    private static boolean selects(LabelSelector selector, PodTemplateSpec template) {
        Map<String, String> labels = template.getMetadata().getLabels();
        if (selector.getMatchLabels() != null && !labels.entrySet().containsAll(selector.getMatchLabels().entrySet())) {
            return false;
        }
        for (LabelSelectorRequirement requirement : Objects.requireNonNullElse(selector.getMatchExpressions(), List.<LabelSelectorRequirement>of())) {
            String value = labels.get(requirement.getKey());
            boolean matches = switch (requirement.getOperator()) {
                case "In" -> requirement.getValues().contains(value);
                case "NotIn" -> !requirement.getValues().contains(value);
                case "Exists" -> value != null;
                case "DoesNotExist" -> value == null;
                default -> throw new AssertionError("unknown selector operator " + requirement.getOperator());
            };
            if (!matches) {
                return false;
            }
        }
        return true;
    }

    /**
     * The job label Prometheus gives a pod scraped through the PodMonitor: its relabelings that
     * target {@code job}, applied to the pod's labels as Prometheus does (source labels joined by
     * ";", anchored regex, $1-style replacement).
     */
    private static String jobOf(Manifests manifests, PodTemplateSpec template) {
        GenericKubernetesResource monitor = single(manifests, "PodMonitor");
        List<Map<String, Object>> endpoints = monitor.get("spec", "podMetricsEndpoints");
        Map<String, String> meta = new TreeMap<>();
        template.getMetadata().getLabels().forEach((k, v) -> meta.put("__meta_kubernetes_pod_label_" + k.replaceAll("[^A-Za-z0-9_]", "_"), v));
        String job = null;
        for (Map<String, Object> endpoint : endpoints) {
            @SuppressWarnings("unchecked")
            List<Map<String, Object>> relabelings = (List<Map<String, Object>>) endpoint.getOrDefault("relabelings", List.of());
            for (Map<String, Object> relabeling : relabelings) {
                if (!"job".equals(relabeling.get("targetLabel")) || !"replace".equals(relabeling.getOrDefault("action", "replace"))) {
                    continue;
                }
                @SuppressWarnings("unchecked")
                List<String> sources = (List<String>) relabeling.getOrDefault("sourceLabels", List.of());
                String joined = sources.stream().map(s -> meta.getOrDefault(s, "")).collect(Collectors.joining((String) relabeling.getOrDefault("separator", ";")));
                Matcher matcher = Pattern.compile("^(?:" + relabeling.getOrDefault("regex", "(.*)") + ")$").matcher(joined);
                if (matcher.matches()) {
                    job = matcher.replaceFirst((String) relabeling.getOrDefault("replacement", "$1"));
                }
            }
        }
        if (job == null) {
            throw new AssertionError(where(manifests, monitor) + " sets no job label for pods labelled " + template.getMetadata().getLabels()
                    + "; the operator's default job (namespace/name) matches no rule");
        }
        return job;
    }
}
