package io.strata.hypervisor.qemu;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.NullNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.net.SocketAddress;
import java.net.UnixDomainSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Iterator;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.function.Predicate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A QMP connection to one QEMU process. One reader thread owns the socket's input: it completes
 * the pending command whose {@code id} a reply carries and queues events for a separate delivery
 * thread, because events can arrive before the reply to the command that caused them and a
 * listener that issues commands itself must not block the reader.
 */
public final class QmpClient implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(QmpClient.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final QmpEvent END = new QmpEvent("", NullNode.getInstance());

    private final LineChannel channel;
    private final String name;
    private final Duration defaultTimeout;
    private final AtomicLong ids = new AtomicLong();
    private final Map<String, CompletableFuture<JsonNode>> pending = new ConcurrentHashMap<>();
    private final CopyOnWriteArrayList<EventWaiter> waiters = new CopyOnWriteArrayList<>();
    private final LinkedBlockingQueue<QmpEvent> events = new LinkedBlockingQueue<>();
    private volatile Consumer<QmpEvent> eventListener;
    private volatile Runnable onDisconnect;
    private final CompletableFuture<Void> closed = new CompletableFuture<>();
    private volatile JsonNode greeting;

    private record EventWaiter(Predicate<QmpEvent> filter, CompletableFuture<QmpEvent> future) {}

    private QmpClient(LineChannel channel, String name, Duration defaultTimeout,
            Consumer<QmpEvent> eventListener, Runnable onDisconnect) {
        this.channel = requireNonNull(channel, "channel is null");
        this.name = requireNonNull(name, "name is null");
        this.defaultTimeout = requireNonNull(defaultTimeout, "defaultTimeout is null");
        this.eventListener = requireNonNull(eventListener, "eventListener is null");
        this.onDisconnect = requireNonNull(onDisconnect, "onDisconnect is null");
    }

    /**
     * Connects to a QMP socket, reads the greeting and negotiates capabilities. Events go to
     * {@code eventListener} in order, on one thread of their own; {@code onDisconnect} runs once
     * when the connection ends for any reason (QEMU exited, or {@link #close()}).
     */
    public static QmpClient connect(Path socket, String name, Duration timeout,
            Consumer<QmpEvent> eventListener, Runnable onDisconnect) {
        return connect(UnixDomainSocketAddress.of(socket), name, timeout, eventListener, onDisconnect);
    }

    /**
     * As {@link #connect(Path, String, Duration, Consumer, Runnable)}, at any address: a Unix
     * socket, or a TCP port forwarded to one (a QEMU on another host reached over SSH).
     */
    public static QmpClient connect(SocketAddress address, String name, Duration timeout,
            Consumer<QmpEvent> eventListener, Runnable onDisconnect) {
        LineChannel channel;
        try {
            channel = LineChannel.connect(address);
        } catch (IOException e) {
            String where = address instanceof UnixDomainSocketAddress unix ? unix.getPath().toString() : address.toString();
            throw new QmpException("cannot connect to QMP socket " + where + " of " + name + ": " + e.getMessage(), e);
        }
        QmpClient client = new QmpClient(channel, name, timeout, eventListener, onDisconnect);
        CompletableFuture<JsonNode> greeted = new CompletableFuture<>();
        client.pending.put("greeting", greeted);
        Thread.ofVirtual().name("qmp-reader-" + name).start(client::readLoop);
        Thread.ofVirtual().name("qmp-events-" + name).start(client::deliverLoop);
        try {
            // Sent before the greeting arrives: QEMU greets on accepting the connection and reads
            // commands only after it, so negotiating costs one round trip, not two.
            CompletableFuture<JsonNode> negotiated = client.submit("qmp_capabilities", null);
            client.greeting = client.await(greeted, "greeting", timeout);
            client.await(negotiated, "qmp_capabilities", timeout);
            return client;
        } catch (RuntimeException e) {
            client.close();
            throw e;
        }
    }

    /**
     * From now on sends this connection's events, and its end, to new handlers: a process changes
     * hands (a warm pool's QEMU taken by a clone) without a new connection, which would cost a
     * greeting and a capabilities round trip through QEMU's main loop.
     */
    public void rebind(Consumer<QmpEvent> eventListener, Runnable onDisconnect) {
        this.eventListener = requireNonNull(eventListener, "eventListener is null");
        this.onDisconnect = requireNonNull(onDisconnect, "onDisconnect is null");
    }

    public static QmpClient connect(Path socket, String name, Duration timeout) {
        return connect(socket, name, timeout, event -> { }, () -> { });
    }

    public static QmpClient connect(SocketAddress address, String name, Duration timeout) {
        return connect(address, name, timeout, event -> { }, () -> { });
    }

    /** QEMU's version as the greeting states it: {"qemu": {"major", "minor", "micro"}, "package"}. */
    public JsonNode version() {
        return greeting.path("QMP").path("version");
    }

    public JsonNode execute(String command) {
        return execute(command, null, defaultTimeout);
    }

    public JsonNode execute(String command, Map<String, ?> arguments) {
        return execute(command, arguments, defaultTimeout);
    }

    /** Runs a command and returns its "return" value; QMP errors become {@link QmpException}. */
    public JsonNode execute(String command, Map<String, ?> arguments, Duration timeout) {
        return await(submit(command, arguments), command, timeout);
    }

    /**
     * Sends a command without waiting for its reply: commands sent one after another are run by
     * QEMU in that order, so a sequence whose steps do not depend on each other's results costs one
     * round trip. The future completes with the "return" value, or with a {@link QmpException}
     * (the command's QMP error, or the connection's end); {@link #await} waits for it with this
     * client's timeout.
     */
    public CompletableFuture<JsonNode> submit(String command, Map<String, ?> arguments) {
        requireNonNull(command, "command is null");
        // A short id: QEMU's monitor reads its input a byte per loop round (measured), and the
        // connection alone tells whose reply it is.
        String id = Long.toString(ids.incrementAndGet(), 36);
        ObjectNode request = JSON.createObjectNode().put("execute", command).put("id", id);
        if (arguments != null && !arguments.isEmpty()) {
            request.set("arguments", JSON.valueToTree(arguments));
        }
        CompletableFuture<JsonNode> reply = new CompletableFuture<>();
        pending.put(id, reply);
        try {
            if (closed.isDone()) {
                throw new QmpException("Closed", "QMP connection to " + name + " is closed");
            }
            channel.writeLine(request.toString());
        } catch (IOException e) {
            pending.remove(id);
            throw new QmpException("cannot send " + command + " to " + name + ": " + e.getMessage(), e);
        }
        CompletableFuture<JsonNode> result = reply.thenApply(response -> {
            JsonNode error = response.get("error");
            if (error != null) {
                throw new QmpException(error.path("class").asText("GenericError"),
                        command + " failed on " + name + ": " + error.path("desc").asText());
            }
            return response.path("return");
        });
        // A reply given up on (timeout) is forgotten; a late one is then dropped by the reader.
        result.whenComplete((value, failure) -> {
            if (result.isCancelled()) {
                pending.remove(id);
            }
        });
        return result;
    }

    /** The result of a {@link #submit}ted command, waited for up to this client's timeout. */
    public JsonNode await(CompletableFuture<JsonNode> reply, String what) {
        return await(reply, what, defaultTimeout);
    }

    /**
     * A future for the next event matching {@code filter}. Register it before sending the command
     * that causes the event: the event may well arrive before that command's reply.
     */
    public CompletableFuture<QmpEvent> nextEvent(Predicate<QmpEvent> filter) {
        EventWaiter waiter = new EventWaiter(requireNonNull(filter, "filter is null"), new CompletableFuture<>());
        waiters.add(waiter);
        if (closed.isDone()) {
            waiter.future().completeExceptionally(new QmpException("Closed", "QMP connection to " + name + " is closed"));
        }
        waiter.future().whenComplete((event, failure) -> waiters.remove(waiter));
        return waiter.future();
    }

    public CompletableFuture<QmpEvent> nextEvent(String eventName) {
        return nextEvent(event -> event.name().equals(eventName));
    }

    public boolean isOpen() {
        return !closed.isDone();
    }

    /** Completes when the connection has ended (QEMU exited, the socket broke, or close()). */
    public CompletableFuture<Void> closedFuture() {
        return closed.copy();
    }

    @Override
    public void close() {
        channel.close();
    }

    private JsonNode await(CompletableFuture<JsonNode> reply, String what, Duration timeout) {
        try {
            return reply.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            pending.values().remove(reply);
            reply.cancel(false);
            throw new QmpException("Timeout", "no QMP reply to " + what + " from " + name + " within " + timeout);
        } catch (ExecutionException e) {
            throw e.getCause() instanceof QmpException q ? q
                    : new QmpException("QMP " + what + " to " + name + " failed: " + e.getCause().getMessage(), e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new QmpException("interrupted waiting for " + what + " from " + name, e);
        }
    }

    private void readLoop() {
        try {
            String line;
            while ((line = channel.readLine()) != null) {
                if (!line.isBlank()) {
                    dispatch(JSON.readTree(line));
                }
            }
        } catch (IOException e) {
            if (channel.isOpen()) {
                log.debug("QMP connection to {} broke: {}", name, e.toString());
            }
        } finally {
            channel.close();
            shutDown();
        }
    }

    private void dispatch(JsonNode message) {
        if (message.has("QMP")) {
            complete("greeting", message);
        } else if (message.has("event")) {
            QmpEvent event = new QmpEvent(message.get("event").asText(), message.path("data"));
            for (EventWaiter waiter : waiters) {
                if (waiter.filter().test(event)) {
                    waiter.future().complete(event);
                }
            }
            events.add(event);
        } else if (message.has("id")) {
            complete(message.get("id").asText(), message);
        } else {
            // A reply without an id answers a request QEMU could not even parse; none of ours.
            log.warn("QMP message from {} with no id: {}", name, message);
        }
    }

    private void complete(String id, JsonNode message) {
        CompletableFuture<JsonNode> reply = pending.remove(id);
        if (reply != null) {
            reply.complete(message);
        }
    }

    private void shutDown() {
        QmpException gone = new QmpException("Closed", "QMP connection to " + name + " closed");
        for (Iterator<CompletableFuture<JsonNode>> it = pending.values().iterator(); it.hasNext(); ) {
            it.next().completeExceptionally(gone);
            it.remove();
        }
        for (EventWaiter waiter : waiters) {
            waiter.future().completeExceptionally(gone);
        }
        events.add(END);
        closed.complete(null);
    }

    private void deliverLoop() {
        try {
            while (true) {
                QmpEvent event = events.take();
                if (event == END) {
                    break;
                }
                try {
                    eventListener.accept(event);
                } catch (RuntimeException e) {
                    log.warn("QMP event listener of {} failed on {}", name, event.name(), e);
                }
            }
            onDisconnect.run();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (RuntimeException e) {
            log.warn("QMP disconnect handler of {} failed", name, e);
        }
    }
}
