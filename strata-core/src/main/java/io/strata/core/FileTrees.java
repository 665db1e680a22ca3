package io.strata.core;

import java.io.IOException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;

/** Recursive deletion of a directory, which the JDK does not offer. */
public final class FileTrees {
    /** Walks again when something was created meanwhile; a tree still growing after that is an error. */
    private static final int ATTEMPTS = 5;

    private FileTrees() {
    }

    /**
     * Deletes {@code dir} and everything under it, children first; nothing happens if it does not
     * exist. Others may remove or add files in the tree meanwhile (a VM's run directory, which
     * the VM's own background work still tidies while the VM is deleted): what vanished during
     * the walk is not an error, and what appeared is removed by another walk.
     */
    public static void deleteTree(Path dir) throws IOException {
        for (int attempt = 1; ; attempt++) {
            try {
                // A missing tree (or part of it) reaches visitFileFailed: nothing to delete there.
                Files.walkFileTree(dir, new Deleting());
                return;
            } catch (DirectoryNotEmptyException e) {
                // Something was created in a directory after the walk had emptied it.
                if (attempt == ATTEMPTS) {
                    throw e;
                }
            }
        }
    }

    private static final class Deleting extends SimpleFileVisitor<Path> {
        @Override
        public FileVisitResult visitFile(Path file, BasicFileAttributes attributes) throws IOException {
            Files.deleteIfExists(file);
            return FileVisitResult.CONTINUE;
        }

        @Override
        public FileVisitResult visitFileFailed(Path file, IOException e) throws IOException {
            if (e instanceof NoSuchFileException) {
                return FileVisitResult.CONTINUE;     // removed by someone else between listing and reading it
            }
            throw e;
        }

        @Override
        public FileVisitResult postVisitDirectory(Path directory, IOException e) throws IOException {
            if (e != null && !(e instanceof NoSuchFileException)) {
                throw e;
            }
            Files.deleteIfExists(directory);
            return FileVisitResult.CONTINUE;
        }
    }
}
