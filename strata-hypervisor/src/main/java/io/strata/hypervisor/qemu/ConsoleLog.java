package io.strata.hypervisor.qemu;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Reads the end of a serial console file without reading all of it: a guest's console grows for
 * as long as the VM lives (across restarts), and callers usually want the last few lines.
 */
final class ConsoleLog {
    private ConsoleLog() {
    }

    /** The last {@code lines} lines (all of the file when lines <= 0), with "\n" line ends. */
    static String tail(Path file, int lines) throws IOException {
        if (!Files.exists(file)) {
            return "";
        }
        try (RandomAccessFile in = new RandomAccessFile(file.toFile(), "r")) {
            long length = in.length();
            long chunk = lines <= 0 ? length : Math.max(4096, lines * 128L);
            while (true) {
                long start = Math.max(0, length - chunk);
                byte[] bytes = new byte[(int) Math.min(Integer.MAX_VALUE - 16, length - start)];
                in.seek(start);
                in.readFully(bytes);
                String text = new String(bytes, StandardCharsets.UTF_8).replace("\r\n", "\n");
                if (lines <= 0) {
                    return text;
                }
                int end = text.endsWith("\n") ? text.length() - 1 : text.length();
                int cut = end;
                int found = 0;
                while (found < lines && (cut = text.lastIndexOf('\n', cut - 1)) >= 0) {
                    found++;
                }
                if (found == lines) {
                    return text.substring(cut + 1);
                }
                if (start == 0) {
                    return text; // the whole file has fewer lines than asked for
                }
                chunk *= 4;
            }
        }
    }
}
