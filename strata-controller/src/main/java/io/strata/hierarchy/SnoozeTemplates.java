package io.strata.hierarchy;

import com.fasterxml.jackson.databind.JsonNode;
import io.strata.core.CloudException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Set;

/**
 * Reads the body of startVirtualCluster: {@code virtualMachineTemplates}, each with a libvirt
 * {@code libVirtTemplate} or {@code vcpus}/{@code memory} (KB, as libvirt and Snooze's capacity
 * vectors count it)/{@code imageId}/{@code name}, a {@code networkCapacityDemand} of
 * {@code rxBytes}/{@code txBytes}, and an optional {@code hostId}.
 */
public final class SnoozeTemplates {
    private static final Set<String> FIELDS = Set.of("libVirtTemplate", "networkCapacityDemand", "vcpus", "memory", "imageId", "name",
            "hostId");

    private SnoozeTemplates() {}

    public static List<VmTemplate> read(JsonNode body) {
        if (!body.isObject()) {
            throw invalid("the body must be a JSON object with virtualMachineTemplates");
        }
        JsonNode list = body.get("virtualMachineTemplates");
        if (list == null || !list.isArray()) {
            throw invalid("virtualMachineTemplates must be an array");
        }
        List<VmTemplate> templates = new ArrayList<>();
        for (int i = 0; i < list.size(); i++) {
            templates.add(template(list.get(i), "virtualMachineTemplates[" + i + "]"));
        }
        return templates;
    }

    private static VmTemplate template(JsonNode node, String where) {
        if (!node.isObject()) {
            throw invalid("%s must be an object", where);
        }
        for (Iterator<String> names = node.fieldNames(); names.hasNext(); ) {
            String name = names.next();
            if (!FIELDS.contains(name)) {
                throw invalid("%s: unknown field '%s'", where, name);
            }
        }
        double rx = 0;
        double tx = 0;
        JsonNode network = node.get("networkCapacityDemand");
        if (network != null && !network.isNull()) {
            rx = nonNegative(network.get("rxBytes"), where + ".networkCapacityDemand.rxBytes");
            tx = nonNegative(network.get("txBytes"), where + ".networkCapacityDemand.txBytes");
        }
        String imageId = optionalString(node, "imageId", where);
        String hostId = optionalString(node, "hostId", where);
        String xml = optionalString(node, "libVirtTemplate", where);
        if (xml != null) {
            LibvirtDomain domain = LibvirtDomainParser.parse(xml);
            return new VmTemplate(domain.name(), domain.vcpus(), domain.memoryKb(), imageId, domain, xml, rx, tx, hostId);
        }
        String name = optionalString(node, "name", where);
        JsonNode vcpus = node.get("vcpus");
        JsonNode memory = node.get("memory");
        if (name == null || vcpus == null || memory == null) {
            throw invalid("%s needs libVirtTemplate, or vcpus, memory, imageId and name", where);
        }
        if (!vcpus.canConvertToInt() || !vcpus.isIntegralNumber() || vcpus.asInt() < 1) {
            throw invalid("%s.vcpus must be a positive integer", where);
        }
        if (!memory.isNumber() || memory.asDouble() < 1024) {
            throw invalid("%s.memory must be a number of KB, at least 1024", where);
        }
        if (name.length() > 255) {
            throw invalid("%s.name is longer than 255 characters", where);
        }
        return new VmTemplate(name, vcpus.asInt(), (long) memory.asDouble(), imageId, null, null, rx, tx, hostId);
    }

    private static String optionalString(JsonNode node, String field, String where) {
        JsonNode value = node.get(field);
        if (value == null || value.isNull()) {
            return null;
        }
        if (!value.isTextual()) {
            throw invalid("%s.%s must be a string", where, field);
        }
        return value.asText().isBlank() ? null : value.asText();
    }

    private static double nonNegative(JsonNode value, String where) {
        if (value == null || value.isNull()) {
            return 0;
        }
        if (!value.isNumber() || value.asDouble() < 0) {
            throw invalid("%s must be a non-negative number", where);
        }
        return value.asDouble();
    }

    private static CloudException invalid(String format, Object... args) {
        return CloudException.badRequest("UNABLE_TO_PARSE_VIRTUAL_MACHINE_TEMPLATE: " + format, args);
    }
}
