package io.strata.image;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.strata.core.CloudException;
import io.strata.core.ErrorCode;
import io.strata.identity.AuthContext;
import io.strata.identity.Policy;
import io.strata.store.Database;
import io.strata.store.TestDatabases;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;

/** The Java API the Compute service uses, against a real database and a real directory. */
@ParameterizedClass
@EnumSource(TestDatabases.Kind.class)
class ImageServiceTest {
    @Parameter
    TestDatabases.Kind kind;

    @TempDir
    Path dir;

    private Database database;
    private ImageStore store;
    private ImageService images;
    private final AuthContext alice = auth("project-a", "member", "reader");
    private final AuthContext bob = auth("project-b", "member", "reader");

    @BeforeEach
    void start() {
        database = TestDatabases.open(kind);
        store = new ImageStore(database.jdbi());
        images = new ImageService(store, new ImageFiles(dir.resolve("images")), Policy.defaults(), Clock.systemUTC());
    }

    @AfterEach
    void stop() {
        database.close();
    }

    @Test
    void createFromFileTakesTheFileOverAndMakesAnActivePrivateImage() throws Exception {
        byte[] data = "snapshot data".repeat(1000).getBytes(StandardCharsets.UTF_8);
        Path source = Files.write(dir.resolve("snapshot.raw"), data);
        Image image = images.createFromFile(alice, "snap", Map.of("image_type", "snapshot", "instance_uuid", "i-1"), "raw", "bare", source);

        assertThat(image.status()).isEqualTo(ImageStatus.ACTIVE);
        assertThat(image.visibility()).isEqualTo(Visibility.PRIVATE);
        assertThat(image.owner()).isEqualTo("project-a");
        assertThat(image.properties()).containsEntry("image_type", "snapshot").containsEntry("instance_uuid", "i-1");
        assertThat(image.sizeBytes()).isEqualTo(data.length);
        assertThat(image.virtualSize()).isEqualTo(data.length);
        assertThat(image.checksum()).isEqualTo(ImageApiTest.hex("MD5", data));
        assertThat(image.osHashValue()).isEqualTo(ImageApiTest.hex("SHA-512", data));
        assertThat(source).doesNotExist();
        assertThat(Files.readAllBytes(images.file(image))).isEqualTo(data);
        assertThat(images.get(alice, image.id())).isEqualTo(image);
        assertNotFound(() -> images.get(bob, image.id()));
    }

    @Test
    void createFromFileWithADraftKeepsCoreAttributes() throws Exception {
        Path source = Files.write(dir.resolve("snapshot.qcow2"), ImageApiTest.qcow2Header(1L << 30, 0));
        ImageDraft draft = new ImageDraft(null, "snap", null, Visibility.PRIVATE, "bare", "qcow2", 10, 512, false, false,
                Map.of("image_type", "snapshot"), List.of("nightly"));
        Image image = images.createFromFile(alice, draft, source);
        assertThat(image.minDisk()).isEqualTo(10);
        assertThat(image.minRam()).isEqualTo(512);
        assertThat(image.tags()).containsExactly("nightly");
        assertThat(image.virtualSize()).isEqualTo(1L << 30);
        assertThat(images.list(alice, ImageQuery.all())).containsExactly(image);
    }

    @Test
    void createFromFileThatFailsPutsTheFileBack() throws Exception {
        Path source = Files.write(dir.resolve("not-qcow2"), new byte[4096]);
        assertCode(ErrorCode.BAD_REQUEST, () -> images.createFromFile(alice, "bad", Map.of(), "qcow2", "bare", source));
        assertThat(source).exists();
        assertThat(images.list(alice, ImageQuery.all())).isEmpty();
        assertCode(ErrorCode.BAD_REQUEST, () -> images.createFromFile(alice, "bad", Map.of(), "floppy", "bare", source));
        assertCode(ErrorCode.FORBIDDEN, () -> images.createFromFile(alice, "bad", Map.of("status", "active"), "raw", "bare", source));
        assertThat(source).exists();
        assertCode(ErrorCode.BAD_REQUEST, () -> images.createFromFile(alice, "bad", Map.of(), "raw", "bare", dir.resolve("absent")));
    }

    @Test
    void snapshotsAndUploadsOverTheSizeCapAreRefusedAndLeaveNothing() throws Exception {
        ImageService capped = new ImageService(store, new ImageFiles(dir.resolve("images")), Policy.defaults(), Clock.systemUTC(),
                ImageService.DataLocations.SHARED, 100);
        // A snapshot file over the cap stays where it was; no image is made.
        Path source = Files.write(dir.resolve("snapshot.raw"), new byte[101]);
        assertCode(ErrorCode.OVER_LIMIT, () -> capped.createFromFile(alice, "big", Map.of(), "raw", "bare", source));
        assertThat(source).hasSize(101);
        assertThat(capped.list(alice, ImageQuery.all())).isEmpty();

        // Streamed data (the Compute API's snapshots of remote servers come this way): queued again, no file.
        Image queued = capped.createQueued(alice, "streamed", Map.of(), "raw", "bare");
        assertCode(ErrorCode.OVER_LIMIT, () -> capped.upload(alice, queued.id(), new ByteArrayInputStream(new byte[101])));
        Image after = capped.get(alice, queued.id());
        assertThat(after.status()).isEqualTo(ImageStatus.QUEUED);
        assertThat(after.sizeBytes()).isNull();
        assertThat(after.checksum()).isNull();
        assertThat(filesUnder(dir.resolve("images"))).isEmpty();

        // Up to the cap is taken either way.
        capped.upload(alice, queued.id(), new ByteArrayInputStream(new byte[100]));
        assertThat(capped.get(alice, queued.id()).sizeBytes()).isEqualTo(100);
        Image fromFile = capped.createFromFile(alice, "fits", Map.of(), "raw", "bare", Files.write(dir.resolve("fits.raw"), new byte[100]));
        assertThat(fromFile.sizeBytes()).isEqualTo(100);
    }

    @Test
    void createQueuedThenUploadInSteps() {
        Image queued = images.createQueued(alice, "steps", Map.of("kernel_id", "k"), "raw", "bare");
        assertThat(queued.status()).isEqualTo(ImageStatus.QUEUED);
        assertCode(ErrorCode.CONFLICT, () -> images.file(queued));
        images.upload(alice, queued.id(), new ByteArrayInputStream(new byte[] {1, 2, 3}));
        Image active = images.get(alice, queued.id());
        assertThat(active.status()).isEqualTo(ImageStatus.ACTIVE);
        assertThat(active.sizeBytes()).isEqualTo(3);
        assertThat(active.properties()).containsEntry("kernel_id", "k");
        assertCode(ErrorCode.CONFLICT, () -> images.upload(alice, queued.id(), new ByteArrayInputStream(new byte[] {4})));
        images.deactivate(alice, queued.id());
        // Compute must not boot from a deactivated image.
        assertCode(ErrorCode.CONFLICT, () -> images.file(images.get(alice, queued.id())));
        images.reactivate(alice, queued.id());
        assertThat(images.file(images.get(alice, queued.id()))).exists();
        assertNotFound(() -> images.upload(bob, queued.id(), new ByteArrayInputStream(new byte[] {4})));
        assertNotFound(() -> images.delete(bob, queued.id()));

        images.delete(alice, queued.id());
        assertThat(dir.resolve("images").resolve(queued.id())).doesNotExist();
        assertNotFound(() -> images.get(alice, queued.id()));
    }

    @Test
    void aFailingStreamLeavesTheImageQueuedWithNoData() throws IOException {
        Image image = images.createQueued(alice, "broken", Map.of(), "raw", "bare");
        InputStream broken = new InputStream() {
            private int sent;

            @Override
            public int read() throws IOException {
                if (sent++ > 100_000) {
                    throw new IOException("connection reset");
                }
                return 7;
            }
        };
        assertCode(ErrorCode.BAD_REQUEST, () -> images.upload(alice, image.id(), broken));
        Image after = images.get(alice, image.id());
        assertThat(after.status()).isEqualTo(ImageStatus.QUEUED);
        assertThat(after.sizeBytes()).isNull();
        assertThat(after.checksum()).isNull();
        assertThat(filesUnder(dir.resolve("images"))).isEmpty();
        // The upload can simply be retried.
        images.upload(alice, image.id(), new ByteArrayInputStream(new byte[] {1}));
        assertThat(images.get(alice, image.id()).status()).isEqualTo(ImageStatus.ACTIVE);
    }

    @Test
    void aSecondUploadWhileSavingConflictsAndDeletingMidUploadIsGone() throws Exception {
        Image image = images.createQueued(alice, "slow", Map.of(), "raw", "bare");
        CountDownLatch started = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        InputStream slow = new InputStream() {
            private boolean first = true;

            @Override
            public int read() {
                throw new UnsupportedOperationException();
            }

            @Override
            public int read(byte[] buffer, int offset, int length) throws IOException {
                if (first) {
                    first = false;
                    started.countDown();
                    try {
                        release.await();
                    } catch (InterruptedException e) {
                        throw new IOException(e);
                    }
                    buffer[offset] = 42;
                    return 1;
                }
                return -1;
            }
        };
        CompletableFuture<Void> upload = CompletableFuture.runAsync(() -> images.upload(alice, image.id(), slow));
        assertThat(started.await(10, TimeUnit.SECONDS)).isTrue();
        assertThat(images.get(alice, image.id()).status()).isEqualTo(ImageStatus.SAVING);
        assertCode(ErrorCode.CONFLICT, () -> images.upload(alice, image.id(), new ByteArrayInputStream(new byte[] {1})));

        images.delete(alice, image.id());
        release.countDown();
        assertThatThrownBy(upload::join).hasCauseInstanceOf(CloudException.class)
                .cause().satisfies(e -> assertThat(((CloudException) e).code()).isEqualTo(ErrorCode.GONE));
        assertThat(filesUnder(dir.resolve("images"))).isEmpty();
    }

    @Test
    void recoveryRequeuesInterruptedUploadsAndSweepsOrphans() throws Exception {
        Image active = images.createQueued(alice, "kept", Map.of(), "raw", "bare");
        images.upload(alice, active.id(), new ByteArrayInputStream(new byte[] {9}));
        Image interrupted = images.createQueued(alice, "interrupted", Map.of(), "raw", "bare");
        store.transition(interrupted.id(), ImageStatus.QUEUED, i -> i.toBuilder().status(ImageStatus.SAVING).build());
        Path imagesDir = dir.resolve("images");
        Files.write(imagesDir.resolve("staging").resolve("upload-1.part"), new byte[10]);
        Files.write(imagesDir.resolve(interrupted.id()), new byte[10]);
        Files.write(imagesDir.resolve(UUID.randomUUID().toString()), new byte[10]);

        images.recover();

        assertThat(images.get(alice, interrupted.id()).status()).isEqualTo(ImageStatus.QUEUED);
        assertThat(filesUnder(imagesDir)).containsExactly(imagesDir.resolve(active.id()));
        assertThat(Files.readAllBytes(images.file(images.get(alice, active.id())))).containsExactly(9);
    }

    @Test
    void readersMayNotCreateAndOthersMayNotChange() {
        AuthContext reader = auth("project-a", "reader");
        assertCode(ErrorCode.FORBIDDEN, () -> images.createQueued(reader, "nope", Map.of(), "raw", "bare"));
        Image image = images.createQueued(alice, "mine", Map.of(), "raw", "bare");
        assertThat(images.get(reader, image.id()).id()).isEqualTo(image.id());
        assertCode(ErrorCode.FORBIDDEN, () -> images.delete(reader, image.id()));
        assertCode(ErrorCode.FORBIDDEN, () -> images.update(reader, image.id(), List.of(new ImageChange.SetName("x"))));
    }

    private static void assertNotFound(Runnable call) {
        assertCode(ErrorCode.NOT_FOUND, call);
    }

    private static void assertCode(ErrorCode code, Runnable call) {
        assertThatThrownBy(call::run).isInstanceOf(CloudException.class)
                .satisfies(e -> assertThat(((CloudException) e).code()).as(e.getMessage()).isEqualTo(code));
    }

    private static List<Path> filesUnder(Path dir) throws IOException {
        try (Stream<Path> files = Files.walk(dir)) {
            return files.filter(Files::isRegularFile).toList();
        }
    }

    static AuthContext auth(String project, String... roles) {
        Instant now = Instant.now();
        return new AuthContext("user-" + project, "user", "default", "Default", project, project, "default", "Default", null, null,
                Set.of(roles), List.of("password"), "audit", now, now.plusSeconds(3600));
    }
}
