package io.strata.hypervisor.qemu;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConsoleLogTest {
    @TempDir
    Path dir;

    @Test
    void tailsTheLastLinesOfLongAndShortFiles() throws IOException {
        Path file = dir.resolve("console.log");
        assertThat(ConsoleLog.tail(file, 5)).isEmpty();

        StringBuilder text = new StringBuilder();
        for (int i = 1; i <= 5000; i++) {
            text.append("line ").append(i).append("\r\n");
        }
        Files.writeString(file, text);
        assertThat(ConsoleLog.tail(file, 2)).isEqualTo("line 4999\nline 5000\n");
        assertThat(ConsoleLog.tail(file, 300).split("\n")).hasSize(300).startsWith("line 4701");
        assertThat(ConsoleLog.tail(file, 0).split("\n")).hasSize(5000);

        Files.writeString(file, "a\nb\nunfinished");
        assertThat(ConsoleLog.tail(file, 2)).isEqualTo("b\nunfinished");
        assertThat(ConsoleLog.tail(file, 10)).isEqualTo("a\nb\nunfinished");
    }
}
