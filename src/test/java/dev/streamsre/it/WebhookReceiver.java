package dev.streamsre.it;

import com.sun.net.httpserver.HttpServer;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * What Alertmanager's webhook receivers deliver, recorded in the test JVM: a stand-in for the pager,
 * so that a test or a drill can check which alerts reached which receiver, and which never did.
 * The JDK's own HTTP server is enough for a handful of JSON posts.
 */
public final class WebhookReceiver implements AutoCloseable {

    /** One alert of one notification: the receiver it reached, its status (firing, resolved) and labels. */
    public record Delivery(Instant at, String receiver, String status, String alertname, JsonObject labels) {
    }

    private final HttpServer server;
    private final List<Delivery> deliveries = new CopyOnWriteArrayList<>();

    public WebhookReceiver() {
        try {
            server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        } catch (IOException e) {
            throw new IllegalStateException("cannot listen for Alertmanager's webhooks", e);
        }
        server.createContext("/", exchange -> {
            JsonObject notification = new JsonObject(new String(exchange.getRequestBody().readAllBytes(),
                    StandardCharsets.UTF_8));
            for (Object item : notification.getJsonArray("alerts")) {
                JsonObject alert = (JsonObject) item;
                JsonObject labels = alert.getJsonObject("labels");
                deliveries.add(new Delivery(Instant.now(), notification.getString("receiver"),
                        alert.getString("status"), labels.getString("alertname"), labels));
            }
            exchange.sendResponseHeaders(200, -1);
            exchange.close();
        });
        server.start();
    }

    /** The URL Alertmanager posts to. */
    public String url() {
        return "http://127.0.0.1:" + server.getAddress().getPort() + "/";
    }

    /** Everything delivered so far, oldest first. */
    public List<Delivery> deliveries() {
        return new ArrayList<>(deliveries);
    }

    /** The firing deliveries of an alert (to any receiver). */
    public List<Delivery> firing(String alertname) {
        return deliveries.stream().filter(d -> d.alertname().equals(alertname) && d.status().equals("firing")).toList();
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
