package io.strata.hierarchy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.strata.core.CloudException;
import java.io.IOException;
import java.io.InputStream;
import org.junit.jupiter.api.Test;

class LibvirtDomainParserTest {
    static String seedXml() throws IOException {
        try (InputStream in = LibvirtDomainParserTest.class.getResourceAsStream("/snooze/debian1-cluster.json")) {
            return new ObjectMapper().readTree(in).at("/virtualMachineTemplates/0/libVirtTemplate").asText();
        }
    }

    @Test
    void readsTheSeedTemplate() throws IOException {
        LibvirtDomain domain = LibvirtDomainParser.parse(seedXml());
        assertThat(domain.name()).isEqualTo("debian1");
        assertThat(domain.uuid()).isEqualTo("0f476e56-67ea-11e1-858e-00216a972a36");
        assertThat(domain.memoryKb()).isEqualTo(200000);
        assertThat(domain.vcpus()).isEqualTo(1);
        assertThat(domain.disks()).containsExactly(new LibvirtDomain.Disk("disk", "path_to_disk_image", "qcow2", "vda", "virtio"));
        assertThat(domain.interfaces()).containsExactly(new LibvirtDomain.NetInterface("bridge", "52:54:01:84:26:2c", "virbr0", null));
    }

    @Test
    void memoryUnitsAreConvertedToKib() {
        LibvirtDomain domain = LibvirtDomainParser.parse(
                "<domain type='qemu'><name>a</name><memory unit='MiB'>512</memory><vcpu>2</vcpu></domain>");
        assertThat(domain.memoryKb()).isEqualTo(512 * 1024);
        assertThat(domain.vcpus()).isEqualTo(2);
        assertThat(domain.uuid()).isNull();
    }

    @Test
    void refusesWhatItCannotHonourByName() {
        assertRefused("<domain type='kvm'><name>a</name><memory>2048</memory><vcpu>1</vcpu><devices><hostdev mode='subsystem'/></devices></domain>",
                "device <hostdev> is not supported");
        assertRefused("<domain type='kvm'><name>a</name><memory>2048</memory><vcpu>1</vcpu><numatune/></domain>",
                "element <numatune> is not supported");
        assertRefused("<domain type='xen'><name>a</name><memory>2048</memory><vcpu>1</vcpu></domain>", "domain type 'xen'");
        assertRefused("<domain type='kvm'><name>a</name><memory>2048</memory><vcpu>0</vcpu></domain>", "<vcpu> '0'");
        assertRefused("<domain type='kvm'><name>a</name><vcpu>1</vcpu></domain>", "<memory> is missing");
        assertRefused("<domain type='kvm'><memory>2048</memory><vcpu>1</vcpu></domain>", "<name> is missing");
        assertRefused("<domain type='kvm'><name>a</name><memory>2048</memory><vcpu>1</vcpu><devices>"
                + "<disk type='network' device='disk'><target dev='vda'/></disk></devices></domain>", "disk type 'network'");
        assertRefused("<domain type='kvm'><name>a</name><memory>2048</memory><vcpu>1</vcpu><devices>"
                + "<interface type='direct'/></devices></domain>", "interface type 'direct'");
        assertRefused("<domain type='kvm'><name>a", "not well-formed");
        assertRefused("<vm/>", "root element is <vm>");
    }

    @Test
    void refusesDoctypesSoNoEntityIsExpanded() {
        assertRefused("<?xml version='1.0'?><!DOCTYPE d [<!ENTITY x SYSTEM 'file:///etc/passwd'>]>"
                + "<domain type='kvm'><name>&x;</name><memory>2048</memory><vcpu>1</vcpu></domain>", "not well-formed");
    }

    @Test
    void rewriteSetsTheServersUuidAndMac() throws IOException {
        String rewritten = LibvirtDomainParser.rewrite(seedXml(), "11111111-2222-3333-4444-555555555555", "fa:16:3e:00:00:01");
        LibvirtDomain domain = LibvirtDomainParser.parse(rewritten);
        assertThat(domain.uuid()).isEqualTo("11111111-2222-3333-4444-555555555555");
        assertThat(domain.interfaces().get(0).mac()).isEqualTo("fa:16:3e:00:00:01");
        assertThat(domain.disks()).hasSize(1);
    }

    @Test
    void generatedDomainsParse() {
        String xml = LibvirtDomainParser.generate("vm1", "11111111-2222-3333-4444-555555555555", 262144, 2, "img", "fa:16:3e:00:00:02");
        LibvirtDomain domain = LibvirtDomainParser.parse(xml);
        assertThat(domain.memoryKb()).isEqualTo(262144);
        assertThat(domain.vcpus()).isEqualTo(2);
        assertThat(domain.disks().get(0).source()).isEqualTo("image:img");
    }

    private static void assertRefused(String xml, String message) {
        assertThatThrownBy(() -> LibvirtDomainParser.parse(xml)).isInstanceOf(CloudException.class)
                .hasMessageContaining("UNABLE_TO_PARSE_VIRTUAL_MACHINE_TEMPLATE").hasMessageContaining(message);
    }
}
