package io.strata.cli.client;

import static java.util.Objects.requireNonNull;

import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.channels.UnresolvedAddressException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.function.LongConsumer;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLHandshakeException;

/**
 * HTTP for the CLI: java.net.http, HTTP/1.1 (OpenStack services do not speak h2c, and the
 * upgrade attempt costs a round trip), every exchange traced under --debug, and connection
 * failures turned into one readable {@link UnreachableException}.
 */
public final class HttpTransport {
    private final HttpClient client;
    private final Duration requestTimeout;
    private final HttpTrace trace;

    public HttpTransport(Duration connectTimeout, Duration requestTimeout, Tls tls, HttpTrace trace) {
        HttpClient.Builder builder = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(requireNonNull(connectTimeout, "connectTimeout is null"));
        SSLContext context = requireNonNull(tls, "tls is null").context();
        if (context != null) {
            builder.sslContext(context);
        }
        this.client = builder.build();
        this.requestTimeout = requireNonNull(requestTimeout, "requestTimeout is null");
        this.trace = requireNonNull(trace, "trace is null");
    }

    /** Sends a request with an optional JSON (or other) body and reads the whole answer. */
    public Response send(String method, String url, Map<String, String> headers, byte[] body) {
        HttpRequest.BodyPublisher publisher = body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofByteArray(body);
        trace.request(method, url, headers, body == null ? null : HttpTrace.describe(body, headers.get("Content-Type")));
        return read(build(method, url, headers, publisher, requestTimeout));
    }

    /**
     * Sends a file as the body, streamed from disk (images are large), telling {@code sent} (when
     * given) how many bytes have gone so far.
     */
    public Response sendFile(String method, String url, Map<String, String> headers, Path file, LongConsumer sent) {
        long size;
        try {
            size = Files.size(file);
        } catch (IOException e) {
            String reason = e instanceof NoSuchFileException ? "No such file or directory" : e.getMessage();
            throw new CliException("Can't open '" + file + "': " + reason);
        }
        HttpRequest.BodyPublisher publisher = HttpRequest.BodyPublishers.fromPublisher(
                HttpRequest.BodyPublishers.ofInputStream(() -> new CountingInputStream(open(file), sent)), size);
        trace.request(method, url, headers, "<" + size + " bytes from " + file + ">");
        // An upload may legitimately take longer than any single API call.
        return read(build(method, url, headers, publisher, null));
    }

    /** Opens a streamed download; the caller closes the stream. Error answers are read and thrown. */
    public InputStream download(String url, Map<String, String> headers) {
        trace.request("GET", url, headers, null);
        HttpRequest request = build("GET", url, headers, HttpRequest.BodyPublishers.noBody(), null);
        HttpResponse<InputStream> response = exchange(request, HttpResponse.BodyHandlers.ofInputStream());
        if (response.statusCode() >= 400) {
            byte[] body;
            try (InputStream in = response.body()) {
                body = in.readAllBytes();
            } catch (IOException e) {
                throw unreachable(request.uri(), e);
            }
            Response error = new Response("GET", url, response.statusCode(), response.headers(), body);
            trace.response(error.status(), error.headers(), HttpTrace.describe(body, error.header("content-type")));
            throw ErrorMessages.exception(error);
        }
        trace.response(response.statusCode(), response.headers(), "<streamed to the output>");
        return response.body();
    }

    private HttpRequest build(String method, String url, Map<String, String> headers, HttpRequest.BodyPublisher body, Duration timeout) {
        HttpRequest.Builder builder;
        try {
            builder = HttpRequest.newBuilder(URI.create(url)).method(method, body);
        } catch (IllegalArgumentException e) {
            throw new CliException("Not a valid URL: " + url);
        }
        if (timeout != null) {
            builder.timeout(timeout);
        }
        headers.forEach(builder::header);
        return builder.build();
    }

    private Response read(HttpRequest request) {
        HttpResponse<byte[]> answer = exchange(request, HttpResponse.BodyHandlers.ofByteArray());
        Response response = new Response(request.method(), request.uri().toString(), answer.statusCode(), answer.headers(), answer.body());
        trace.response(response.status(), response.headers(), HttpTrace.describe(response.body(), response.header("content-type")));
        return response;
    }

    private <T> HttpResponse<T> exchange(HttpRequest request, HttpResponse.BodyHandler<T> handler) {
        try {
            return client.send(request, handler);
        } catch (IOException e) {
            throw unreachable(request.uri(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CliException("Interrupted while waiting for " + request.uri());
        }
    }

    private UnreachableException unreachable(URI uri, IOException e) {
        String reason;
        if (e instanceof HttpConnectTimeoutException) {
            reason = "connection timed out";
        } else if (e instanceof HttpTimeoutException) {
            reason = "no answer within " + requestTimeout.toSeconds() + " s";
        } else if (handshakeFailure(e) != null) {
            reason = "the TLS handshake failed (" + handshakeFailure(e) + "); to trust the cloud's certificate, give its CA bundle "
                    + "with OS_CACERT or --os-cacert, or skip the check with --insecure";
        } else if (e instanceof ConnectException && e.getCause() instanceof UnresolvedAddressException) {
            reason = "unknown host " + uri.getHost();
        } else if (e instanceof ConnectException) {
            reason = "connection refused";
        } else {
            reason = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
        }
        return new UnreachableException("Unable to establish connection to " + uri + ": " + reason, e);
    }

    /** Why TLS failed, in words, when it did; JSSE's own messages name its internal classes. */
    private static String handshakeFailure(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof SSLHandshakeException) {
                String message = String.valueOf(t.getMessage());
                if (message.contains("PKIX") || message.contains("certification path")) {
                    return "the certificate is not signed by a trusted CA";
                }
                if (message.contains("subject alternative") || message.contains("No name matching")) {
                    return "the certificate is for another host name";
                }
                if (message.contains("expired") || message.contains("NotAfter")) {
                    return "the certificate has expired";
                }
                return message;
            }
        }
        return null;
    }

    private static InputStream open(Path file) {
        try {
            return Files.newInputStream(file);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Reports the running total of bytes read to a listener (upload progress). */
    private static final class CountingInputStream extends FilterInputStream {
        private final LongConsumer listener;
        private long count;

        CountingInputStream(InputStream in, LongConsumer listener) {
            super(in);
            this.listener = listener;
        }

        @Override
        public int read() throws IOException {
            int b = super.read();
            if (b >= 0) {
                advance(1);
            }
            return b;
        }

        @Override
        public int read(byte[] buffer, int offset, int length) throws IOException {
            int n = super.read(buffer, offset, length);
            if (n > 0) {
                advance(n);
            }
            return n;
        }

        private void advance(long n) {
            count += n;
            if (listener != null) {
                listener.accept(count);
            }
        }
    }
}
