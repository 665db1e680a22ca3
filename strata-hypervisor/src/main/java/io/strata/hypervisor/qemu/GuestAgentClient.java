package io.strata.hypervisor.qemu;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.strata.hypervisor.HypervisorException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * Talks to qemu-guest-agent (the QGA JSON protocol) over a VM's virtio-serial unix socket
 * ({@code <run dir>/qga.sock}). Requests are strictly one at a time. The agent may start after we
 * connect and a previous client may have left replies in the pipe, so every connection begins with
 * guest-sync-delimited, whose reply follows a 0xFF byte that marks where the stale data ends.
 */
public final class GuestAgentClient implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** What a command run through guest-exec did. */
    public record ExecResult(int exitCode, String stdout, String stderr) {}

    private final LineChannel channel;
    private final Duration timeout;

    private GuestAgentClient(LineChannel channel, Duration timeout) {
        this.channel = requireNonNull(channel, "channel is null");
        this.timeout = requireNonNull(timeout, "timeout is null");
    }

    /** Connects and synchronises; {@code timeout} bounds the sync and each later request. */
    public static GuestAgentClient connect(Path socket, Duration timeout) {
        LineChannel channel;
        try {
            channel = LineChannel.connect(socket);
        } catch (IOException e) {
            throw new HypervisorException("cannot connect to the guest agent at " + socket + ": " + e.getMessage(), e);
        }
        GuestAgentClient client = new GuestAgentClient(channel, timeout);
        try {
            client.sync();
            return client;
        } catch (RuntimeException e) {
            channel.close();
            throw e;
        }
    }

    private void sync() {
        long token = ThreadLocalRandom.current().nextLong(1, Integer.MAX_VALUE);
        ObjectNode request = JSON.createObjectNode().put("execute", "guest-sync-delimited");
        request.putObject("arguments").put("id", token);
        withDeadline("guest-sync-delimited", () -> {
            // Byte 0xFF also resets the agent's own parser, should a half request be in the pipe.
            channel.writeBytes(new byte[] {(byte) 0xFF});
            channel.writeLine(request.toString());
            while (true) {
                channel.skipPast((byte) 0xFF);
                JsonNode reply = JSON.readTree(channel.readLine());
                if (reply.path("return").asLong() == token) {
                    return reply;
                }
            }
        });
    }

    public void ping() {
        execute("guest-ping", null);
    }

    /** Sets the guest's clock (and, through hwclock, its RTC) to {@code time}. */
    public void setTime(Instant time) {
        long nanos = time.getEpochSecond() * 1_000_000_000L + time.getNano();
        execute("guest-set-time", Map.of("time", nanos));
    }

    /** Runs a program in the guest and waits for it; output is captured. */
    public ExecResult exec(List<String> command, Duration limit) {
        Map<String, Object> arguments = Map.of("path", command.get(0), "arg", command.subList(1, command.size()), "capture-output", true);
        long pid = execute("guest-exec", arguments).path("pid").asLong();
        long deadline = System.nanoTime() + limit.toNanos();
        while (true) {
            JsonNode status = execute("guest-exec-status", Map.of("pid", pid));
            if (status.path("exited").asBoolean()) {
                return new ExecResult(status.path("exitcode").asInt(-1), decode(status.path("out-data")), decode(status.path("err-data")));
            }
            if (System.nanoTime() > deadline) {
                throw new HypervisorException("guest command " + command + " did not finish within " + limit, null);
            }
            Processes.sleep(Duration.ofMillis(50));
        }
    }

    /** Runs {@code script} with the guest's /bin/sh; a non-zero exit throws with its output. */
    public String shell(String script) {
        ExecResult result = exec(List.of("/bin/sh", "-c", script), timeout);
        if (result.exitCode() != 0) {
            throw new HypervisorException("guest command failed (exit " + result.exitCode() + "): " + result.stderr().strip() + " " + result.stdout().strip(), null);
        }
        return result.stdout();
    }

    public void setHostname(String hostname) {
        if (!hostname.matches("[A-Za-z0-9][A-Za-z0-9.-]{0,252}")) {
            throw new IllegalArgumentException("not a hostname: " + hostname);
        }
        shell("hostname '" + hostname + "' && echo '" + hostname + "' > /etc/hostname");
    }

    /**
     * Gives the NIC that has {@code oldMac} a new MAC and a static address (used when a live-image
     * clone must stop looking like its original).
     */
    public void reconfigureNetwork(String oldMac, String newMac, String address, int prefixLength, String gateway) {
        for (String value : List.of(oldMac, newMac, address, gateway)) {
            if (!value.matches("[0-9A-Fa-f:.]+")) {
                throw new IllegalArgumentException("not a MAC or IPv4 address: " + value);
            }
        }
        // The NIC may have its new MAC already: a personalisation given again after an agent restart.
        shell("dev=$(for d in /sys/class/net/*; do a=$(cat $d/address); { [ \"$a\" = '" + oldMac.toLowerCase() + "' ] || [ \"$a\" = '"
                + newMac.toLowerCase() + "' ]; } && basename $d; done); "
                + "[ -n \"$dev\" ] || { echo no NIC with MAC " + oldMac + " or " + newMac + " >&2; exit 1; }; "
                + "ip link set $dev down && ip link set $dev address " + newMac + " && ip link set $dev up && "
                + "ip -4 addr flush dev $dev && ip addr add " + address + "/" + prefixLength + " dev $dev && "
                + "ip route replace default via " + gateway + " dev $dev");
    }

    /** Writes the parameters as sorted key=value lines to {@code path} in the guest. */
    public void writeParams(Path path, Map<String, String> params) {
        StringBuilder text = new StringBuilder();
        new TreeMap<>(params).forEach((key, value) -> text.append(key).append('=').append(value).append('\n'));
        writeFile(path, text.toString().getBytes(StandardCharsets.UTF_8));
    }

    public void writeFile(Path path, byte[] content) {
        long handle = execute("guest-file-open", Map.of("path", path.toString(), "mode", "w")).asLong();
        try {
            execute("guest-file-write", Map.of("handle", handle, "buf-b64", Base64.getEncoder().encodeToString(content)));
        } finally {
            execute("guest-file-close", Map.of("handle", handle));
        }
    }

    public byte[] readFile(Path path) {
        long handle = execute("guest-file-open", Map.of("path", path.toString(), "mode", "r")).asLong();
        try {
            java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
            while (true) {
                JsonNode chunk = execute("guest-file-read", Map.of("handle", handle, "count", 65536));
                out.writeBytes(Base64.getDecoder().decode(chunk.path("buf-b64").asText()));
                if (chunk.path("eof").asBoolean() || chunk.path("count").asInt() == 0) {
                    return out.toByteArray();
                }
            }
        } finally {
            execute("guest-file-close", Map.of("handle", handle));
        }
    }

    /** guest-network-get-interfaces: name, hardware-address and ip-addresses of each NIC. */
    public JsonNode networkInterfaces() {
        return execute("guest-network-get-interfaces", null);
    }

    /** Runs any QGA command and returns its "return" value. */
    public JsonNode execute(String command, Map<String, ?> arguments) {
        ObjectNode request = JSON.createObjectNode().put("execute", command);
        if (arguments != null) {
            request.set("arguments", JSON.valueToTree(arguments));
        }
        JsonNode reply = withDeadline(command, () -> {
            channel.writeLine(request.toString());
            String line;
            do {
                line = channel.readLine();
                if (line == null) {
                    throw new IOException("guest agent connection closed");
                }
            } while (line.isBlank());
            return JSON.readTree(line);
        });
        JsonNode error = reply.get("error");
        if (error != null) {
            throw new HypervisorException(command + " failed in the guest: " + error.path("desc").asText(error.toString()), null);
        }
        return reply.path("return");
    }

    @Override
    public void close() {
        channel.close();
    }

    private interface Exchange {
        JsonNode run() throws IOException;
    }

    /** Blocking socket reads have no timeout of their own: closing the channel ends them. */
    private JsonNode withDeadline(String what, Exchange exchange) {
        CompletableFuture<Void> timer = CompletableFuture.runAsync(channel::close,
                CompletableFuture.delayedExecutor(timeout.toMillis(), TimeUnit.MILLISECONDS));
        try {
            return exchange.run();
        } catch (IOException e) {
            String reason = timer.isDone() ? "no answer within " + timeout : e.getMessage();
            throw new HypervisorException("guest agent " + what + ": " + reason, e);
        } finally {
            timer.cancel(false);
        }
    }

    private static String decode(JsonNode base64) {
        return base64.isMissingNode() ? "" : new String(Base64.getDecoder().decode(base64.asText()), StandardCharsets.UTF_8);
    }
}
