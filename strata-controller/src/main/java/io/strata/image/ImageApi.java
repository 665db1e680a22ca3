package io.strata.image;

import static java.util.Objects.requireNonNull;

import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;
import io.strata.api.ApiArea;
import io.strata.api.Json;
import io.strata.api.Requests;
import io.strata.core.CloudException;
import io.strata.core.ErrorCode;
import io.strata.identity.AuthContext;
import io.strata.identity.Catalog;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * Glance's Image API v2 at {@code /image}: images, their data, tags and members, the version
 * documents and the schemas. Handlers translate HTTP to {@link ImageService} calls and back;
 * every rule lives in the service.
 */
public final class ImageApi implements ApiArea {
    private static final String V2 = "/image/v2";
    private static final String IMAGE = V2 + "/images/{id}";

    private final ImageService images;
    private final ImageMembers members;
    private final Catalog catalog;

    public ImageApi(ImageService images, ImageMembers members, Catalog catalog) {
        this.images = requireNonNull(images, "images is null");
        this.members = requireNonNull(members, "members is null");
        this.catalog = requireNonNull(catalog, "catalog is null");
    }

    @Override
    public Set<String> publicRoutes() {
        return Set.of("GET /image", "GET /image/versions", "GET /image/v2");
    }

    @Override
    public void addRoutes(RoutesConfig r) {
        // Glance answers its root with 300 (choose a version) and /versions with 200; /v2 itself is
        // no resource in Glance, but answering it with the same list helps clients that probe it.
        r.get("/image", ctx -> ctx.status(300).json(ImageJson.versions(catalog.baseUrl())));
        r.get("/image/versions", ctx -> ctx.json(ImageJson.versions(catalog.baseUrl())));
        r.get(V2, ctx -> ctx.json(ImageJson.versions(catalog.baseUrl())));

        r.get(V2 + "/schemas/image", ctx -> ctx.json(ImageSchema.imageSchema()));
        r.get(V2 + "/schemas/images", ctx -> ctx.json(ImageSchema.imagesSchema()));
        r.get(V2 + "/schemas/member", ctx -> ctx.json(ImageSchema.memberSchema()));
        r.get(V2 + "/schemas/members", ctx -> ctx.json(ImageSchema.membersSchema()));
        r.get(V2 + "/info/import", ctx -> {
            // No interoperable import methods: data arrives by PUT …/file only.
            var body = Json.object();
            body.putObject("import-methods").put("description", "Import methods available.").put("type", "array").putArray("value");
            ctx.json(body);
        });

        r.get(V2 + "/images", this::list);
        r.post(V2 + "/images", this::create);
        r.get(IMAGE, ctx -> ctx.json(ImageJson.image(images.get(Requests.auth(ctx), ctx.pathParam("id")))));
        r.patch(IMAGE, this::update);
        r.delete(IMAGE, ctx -> {
            images.delete(Requests.auth(ctx), ctx.pathParam("id"));
            ctx.status(204);
        });

        r.post(IMAGE + "/actions/deactivate", ctx -> {
            images.deactivate(Requests.auth(ctx), ctx.pathParam("id"));
            ctx.status(204);
        });
        r.post(IMAGE + "/actions/reactivate", ctx -> {
            images.reactivate(Requests.auth(ctx), ctx.pathParam("id"));
            ctx.status(204);
        });

        r.put(IMAGE + "/file", this::upload);
        r.get(IMAGE + "/file", this::download);

        r.put(IMAGE + "/tags/{tag}", ctx -> {
            ImageSchema.validate("tags", Json.array().add(ctx.pathParam("tag")));
            images.addTag(Requests.auth(ctx), ctx.pathParam("id"), ctx.pathParam("tag"));
            ctx.status(204);
        });
        r.delete(IMAGE + "/tags/{tag}", ctx -> {
            images.removeTag(Requests.auth(ctx), ctx.pathParam("id"), ctx.pathParam("tag"));
            ctx.status(204);
        });

        r.get(IMAGE + "/members", ctx -> ctx.json(ImageJson.members(members.list(Requests.auth(ctx), ctx.pathParam("id")))));
        r.post(IMAGE + "/members", ctx -> {
            AuthContext auth = Requests.auth(ctx);
            String member = ImageRequests.member(ctx.bodyAsBytes());
            ctx.json(ImageJson.member(members.add(auth, ctx.pathParam("id"), member)));
        });
        r.get(IMAGE + "/members/{member}", ctx -> ctx.json(ImageJson.member(
                members.get(Requests.auth(ctx), ctx.pathParam("id"), ctx.pathParam("member")))));
        r.put(IMAGE + "/members/{member}", ctx -> {
            AuthContext auth = Requests.auth(ctx);
            String status = ImageRequests.memberStatus(ctx.bodyAsBytes());
            ctx.json(ImageJson.member(members.update(auth, ctx.pathParam("id"), ctx.pathParam("member"), status)));
        });
        r.delete(IMAGE + "/members/{member}", ctx -> {
            members.remove(Requests.auth(ctx), ctx.pathParam("id"), ctx.pathParam("member"));
            ctx.status(204);
        });
    }

    private void list(Context ctx) {
        AuthContext auth = Requests.auth(ctx);
        ImageListRequest request = ImageListRequest.parse(ctx.queryString());
        List<Image> page = images.list(auth, request.query());
        // Like Glance, a full page always offers a next link, even when nothing follows it.
        String next = !page.isEmpty() && page.size() == request.query().limit() ? page.get(page.size() - 1).id() : null;
        ctx.json(ImageJson.images(page, request.linkQuery(), next));
    }

    private void create(Context ctx) {
        AuthContext auth = Requests.auth(ctx);
        ImageDraft draft = ImageRequests.create(ctx.bodyAsBytes());
        Image image = images.create(auth, draft);
        ctx.status(201);
        // RFC 7694: the content codings this server takes for the image's data upload.
        ctx.header("Accept-Encoding", ImageCoding.GZIP);
        ctx.header("Location", Requests.baseUrl(ctx) + V2 + "/images/" + image.id());
        ctx.json(ImageJson.image(image));
    }

    private void update(Context ctx) {
        AuthContext auth = Requests.auth(ctx);
        String contentType = mediaType(ctx.contentType());
        if (!ImageRequests.PATCH_V21.equals(contentType) && !ImageRequests.PATCH_V20.equals(contentType)) {
            ctx.header("Accept-Patch", ImageRequests.PATCH_V20 + ", " + ImageRequests.PATCH_V21);
        }
        List<ImageChange> changes = ImageRequests.patch(contentType, ctx.bodyAsBytes());
        ctx.json(ImageJson.image(images.update(auth, ctx.pathParam("id"), changes)));
    }

    /** Beyond this, a refused upload's body is not read to its end; its connection is closed instead. */
    private static final long DRAIN_LIMIT = 64L << 20;

    /**
     * PUT …/file: the body is streamed to disk as it arrives, never held in memory; a body with
     * {@code Content-Encoding: gzip} is decoded on the way (see {@link ImageCoding}).
     */
    private void upload(Context ctx) throws IOException {
        CountingInputStream body = new CountingInputStream(ctx);
        try {
            receive(ctx, body);
        } catch (RuntimeException | IOException e) {
            drainRefusedBody(ctx, body.count());
            throw e;
        }
    }

    /**
     * Reads what a refused upload did not (a body refused before it was read, or the rest of one
     * that failed half-way), up to {@link #DRAIN_LIMIT}, so that the error answer reaches the
     * client: a server that closes a connection with unread bytes in it resets it, and the client,
     * still sending, may never see the answer. Past the limit the connection is closed instead,
     * at once when the Content-Length says so: a client that waits for {@code 100 Continue}
     * then gets the answer without sending the body (reading it would ask for it).
     */
    private static void drainRefusedBody(Context ctx, long consumed) {
        long declared = ctx.req().getContentLengthLong();
        if (declared >= 0 && declared - consumed > DRAIN_LIMIT) {
            ctx.header("Connection", "close");
            return;
        }
        try {
            java.io.InputStream rest = ctx.req().getInputStream();
            byte[] buffer = new byte[64 * 1024];
            long drained = 0;
            int n;
            while (drained <= DRAIN_LIMIT && (n = rest.read(buffer)) >= 0) {
                drained += n;
            }
            if (drained <= DRAIN_LIMIT) {
                return;
            }
        } catch (IOException | RuntimeException ignored) {
            // The connection is broken anyway; say so.
        }
        ctx.header("Connection", "close");
    }

    private void receive(Context ctx, InputStream body) throws IOException {
        AuthContext auth = Requests.auth(ctx);
        String contentType = mediaType(ctx.contentType());
        if (!"application/octet-stream".equals(contentType)) {
            throw new CloudException(ErrorCode.UNSUPPORTED_MEDIA_TYPE, "Invalid content type " + contentType);
        }
        Long expectedSize = null;
        String announced = ctx.header("x-openstack-image-size");
        if (announced != null) {
            try {
                expectedSize = Long.parseLong(announced.strip());
            } catch (NumberFormatException e) {
                throw CloudException.badRequest("Invalid or missing image size in request headers.");
            }
        }
        boolean gzip;
        try {
            gzip = ImageCoding.gzipRequest(ctx.header("Content-Encoding"));
        } catch (CloudException e) {
            ctx.header("Accept-Encoding", ImageCoding.GZIP);
            throw e;
        }
        // Size, checksums, the disk inspection and the size cap are of the decoded image, as if it
        // came plain; only a plain body's Content-Length is the image's size (a gzip body's says
        // nothing of what it decodes to), and one over the cap is refused before it is read.
        long contentLength = ctx.req().getContentLengthLong();
        Long dataLength = !gzip && contentLength >= 0 ? contentLength : null;
        images.upload(auth, ctx.pathParam("id"), gzip ? ImageCoding.decoding(body) : body, expectedSize, dataLength);
        ctx.status(204);
    }

    /**
     * GET …/file: the data straight from the file to the socket, with Content-MD5 and single
     * byte ranges; 204 when the image has no data (yet). A client that accepts gzip gets the
     * whole image gzip-encoded, streamed, without a Content-Length; its Content-MD5 stays the
     * image's checksum (of the decoded data), as Glance clients check it. Ranges go unencoded.
     */
    private void download(Context ctx) throws IOException {
        AuthContext auth = Requests.auth(ctx);
        Image image = images.get(auth, ctx.pathParam("id"));
        if (image.status() == ImageStatus.DEACTIVATED && !auth.isAdmin()) {
            throw CloudException.forbidden("The requested image has been deactivated. Image data download is forbidden.");
        }
        if (image.status() != ImageStatus.ACTIVE && image.status() != ImageStatus.DEACTIVATED) {
            ctx.status(204);
            return;
        }
        Path path = images.dataPath(image);
        FileChannel channel;
        try {
            channel = FileChannel.open(path, StandardOpenOption.READ);
        } catch (NoSuchFileException e) {
            ctx.status(204);
            return;
        }
        try (channel) {
            long size = channel.size();
            ByteRange range = ByteRange.parse(ctx.header("Range"), size);
            boolean whole = range == null;
            ctx.res().setContentType("application/octet-stream");
            if (image.checksum() != null) {
                ctx.header("Content-MD5", image.checksum());
            }
            if (range != null) {
                ctx.status(206);
                ctx.header("Content-Range", "bytes " + range.first() + "-" + range.last() + "/" + size);
            } else {
                ctx.status(200);
                range = new ByteRange(0, size - 1);
            }
            long length = range.last() - range.first() + 1;
            ctx.header("Vary", "Accept-Encoding");
            if (whole && ImageCoding.prefersGzip(ctx.header("Accept-Encoding"))) {
                ctx.header("Content-Encoding", ImageCoding.GZIP);
                try (OutputStream gzip = ImageCoding.encoding(ctx.res().getOutputStream())) {
                    Channels.newInputStream(channel).transferTo(gzip);
                }
                return;
            }
            ctx.res().setContentLengthLong(length);
            OutputStream out = ctx.res().getOutputStream();
            WritableByteChannel target = Channels.newChannel(out);
            long position = range.first();
            long remaining = length;
            while (remaining > 0) {
                long sent = channel.transferTo(position, remaining, target);
                if (sent <= 0) {
                    break;
                }
                position += sent;
                remaining -= sent;
            }
            out.flush();
        }
    }

    /**
     * The request body, counting what has been read of it (to know what a refused upload left
     * unread), and opened at the first read only: Jetty answers a client's {@code Expect:
     * 100-continue} as soon as the body stream is opened, and an upload refused before reading
     * (a Content-Length over the size cap) should not ask for the body it will not take.
     */
    private static final class CountingInputStream extends InputStream {
        private final Context ctx;
        private InputStream in;
        private long count;

        CountingInputStream(Context ctx) {
            this.ctx = ctx;
        }

        long count() {
            return count;
        }

        private InputStream in() {
            if (in == null) {
                in = ctx.bodyInputStream();
            }
            return in;
        }

        @Override
        public int read() throws IOException {
            int value = in().read();
            if (value >= 0) {
                count++;
            }
            return value;
        }

        @Override
        public int read(byte[] buffer, int offset, int length) throws IOException {
            int read = in().read(buffer, offset, length);
            if (read > 0) {
                count += read;
            }
            return read;
        }

        @Override
        public void close() throws IOException {
            if (in != null) {
                in.close();
            }
        }
    }

    private static String mediaType(String contentType) {
        if (contentType == null) {
            return null;
        }
        int semicolon = contentType.indexOf(';');
        return (semicolon < 0 ? contentType : contentType.substring(0, semicolon)).strip().toLowerCase(Locale.ROOT);
    }

    /** One byte range of an RFC 7233 Range header, inclusive; several ranges are answered whole. */
    record ByteRange(long first, long last) {
        static ByteRange parse(String header, long size) {
            if (header == null || !header.startsWith("bytes=") || header.contains(",")) {
                return null;
            }
            String spec = header.substring("bytes=".length()).strip();
            int dash = spec.indexOf('-');
            if (dash < 0) {
                return null;
            }
            try {
                String start = spec.substring(0, dash).strip();
                String end = spec.substring(dash + 1).strip();
                if (start.isEmpty()) {
                    long suffix = Long.parseLong(end);
                    if (suffix <= 0 || size == 0) {
                        throw unsatisfiable(size);
                    }
                    return new ByteRange(Math.max(0, size - suffix), size - 1);
                }
                long first = Long.parseLong(start);
                long last = end.isEmpty() ? size - 1 : Math.min(Long.parseLong(end), size - 1);
                if (first >= size || last < first) {
                    throw unsatisfiable(size);
                }
                return new ByteRange(first, last);
            } catch (NumberFormatException e) {
                return null;
            }
        }

        private static CloudException unsatisfiable(long size) {
            return new CloudException(ErrorCode.RANGE_NOT_SATISFIABLE, "Requested range not satisfiable (image size " + size + ").");
        }
    }
}
