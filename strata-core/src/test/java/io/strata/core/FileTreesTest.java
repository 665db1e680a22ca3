package io.strata.core;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FileTreesTest {
    @TempDir
    Path temp;

    @Test
    void deletesTreeAndToleratesMissingOne() throws IOException {
        Path dir = temp.resolve("run");
        Files.createDirectories(dir.resolve("a/b"));
        Files.writeString(dir.resolve("a/b/c.json"), "{}");
        Files.writeString(dir.resolve("top"), "x");
        Files.createSymbolicLink(dir.resolve("link"), temp);     // the link goes, not what it points to
        FileTrees.deleteTree(dir);
        assertThat(dir).doesNotExist();
        assertThat(temp).exists();
        FileTrees.deleteTree(dir);
        FileTrees.deleteTree(temp.resolve("never/was"));
    }

    /**
     * A VM's run directory is deleted while the VM's own background work still removes files in it
     * (a clone's pending identity): a file gone between the listing and its deletion failed the
     * whole delete (NoSuchFileException from the walk), and the server went to ERROR.
     */
    @Test
    void filesRemovedByOthersDuringTheWalkAreNotAnError() throws Exception {
        for (int round = 0; round < 20; round++) {
            Path dir = temp.resolve("run-" + round);
            List<Path> files = new ArrayList<>();
            for (int i = 0; i < 400; i++) {
                Path file = dir.resolve("d" + (i % 8)).resolve("f" + i);
                Files.createDirectories(file.getParent());
                Files.writeString(file, "x");
                files.add(file);
            }
            CountDownLatch go = new CountDownLatch(1);
            Thread other = Thread.ofPlatform().start(() -> {
                try {
                    go.await();
                    for (int i = files.size() - 1; i >= 0; i--) {
                        Files.deleteIfExists(files.get(i));
                    }
                } catch (InterruptedException | IOException e) {
                    // the tree went first: what this thread does no longer matters
                }
            });
            go.countDown();
            FileTrees.deleteTree(dir);
            other.join();
            assertThat(dir).doesNotExist();
        }
    }

    @Test
    void fileCreatedDuringTheWalkIsRemovedByAnotherWalk() throws Exception {
        for (int round = 0; round < 20; round++) {
            Path dir = temp.resolve("grow-" + round);
            Files.createDirectories(dir);
            for (int i = 0; i < 200; i++) {
                Files.writeString(dir.resolve("f" + i), "x");
            }
            Thread other = Thread.ofPlatform().start(() -> {
                try {
                    Files.writeString(dir.resolve("late.tmp"), "x");
                } catch (IOException e) {
                    // the directory was already gone
                }
            });
            FileTrees.deleteTree(dir);
            other.join();
            // Created after the last walk, the file would keep the directory: then a second delete takes it.
            FileTrees.deleteTree(dir);
            assertThat(dir).doesNotExist();
        }
    }
}
