package io.strata.hierarchy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.StringReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Properties;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class HierarchySettingsTest {
    private static Properties props(String text) throws IOException {
        Properties p = new Properties();
        p.load(new StringReader(text));
        return p;
    }

    @Test
    void defaultsWithoutAFile(@TempDir Path dir) {
        assertThat(HierarchySettings.load(dir)).isEqualTo(HierarchySettings.DEFAULT);
    }

    @Test
    void readsPoliciesThresholdsAndIntervals(@TempDir Path dir) throws IOException {
        Files.writeString(dir.resolve(HierarchySettings.FILE), "placement=BestFit\ndispatching=FirstFit\nthresholds.cpu=0.1, 0.7, 0.8\n"
                + "consolidationInterval=PT10M\nenergySaver=true\nidleThreshold=PT30S\n");
        HierarchySettings s = HierarchySettings.load(dir);
        assertThat(s.placement()).isEqualTo("BestFit");
        assertThat(s.dispatching()).isEqualTo("FirstFit");
        assertThat(s.thresholds().mid().cpu()).isEqualTo(0.7);
        assertThat(s.thresholds().mid().memoryKb()).isEqualTo(0.9);
        assertThat(s.consolidationInterval()).isEqualTo(Duration.ofMinutes(10));
        assertThat(s.energySaver()).isTrue();
        assertThat(s.idleThreshold()).isEqualTo(Duration.ofSeconds(30));
    }

    @Test
    void refusesUnknownPoliciesAndBadThresholds() {
        assertThatThrownBy(() -> HierarchySettings.from(props("placement=WorstFit"), "f")).hasMessageContaining("f: unknown placement policy");
        assertThatThrownBy(() -> HierarchySettings.from(props("dispatching=Random"), "f")).hasMessageContaining("unknown dispatching");
        assertThatThrownBy(() -> HierarchySettings.from(props("thresholds.cpu=0.9,0.5,1"), "f")).hasMessageContaining("MIN <= MID <= MAX");
        assertThatThrownBy(() -> HierarchySettings.from(props("thresholds.cpu=0.9"), "f")).hasMessageContaining("MIN,MID,MAX");
    }
}
