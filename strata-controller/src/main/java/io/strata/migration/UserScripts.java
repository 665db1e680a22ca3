package io.strata.migration;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.strata.core.CloudException;
import java.util.Collection;
import java.util.Iterator;
import java.util.Map;
import java.util.Set;

/**
 * Coriolis' {@code user_scripts}: {"global": {"linux": SCRIPT, "windows": SCRIPT}, "instances":
 * {INSTANCE: SCRIPT}}, each script the text of the script itself, run during OS morphing with the
 * guest's root mounted; an instance's own script replaces the global one of its OS. A null script
 * (on update) removes one.
 */
final class UserScripts {
    static final Set<String> OS_TYPES = Set.of("linux", "windows");
    /** A script travels as one argument of a guest-exec in the appliance: Linux caps one argument at 128 KiB. */
    static final int MAX_SCRIPT_CHARS = 64 * 1024;

    private UserScripts() {}

    /** The scripts checked against the transfer's instances; an absent value is no scripts. */
    static ObjectNode validate(JsonNode scripts, Collection<String> instances) {
        ObjectNode checked = JsonNodeFactory.instance.objectNode();
        if (scripts == null || scripts.isNull()) {
            return checked;
        }
        if (!scripts.isObject()) {
            throw CloudException.badRequest("user_scripts must be an object with \"global\" and/or \"instances\"");
        }
        Iterator<String> keys = scripts.fieldNames();
        while (keys.hasNext()) {
            String key = keys.next();
            if (!key.equals("global") && !key.equals("instances")) {
                throw CloudException.badRequest("user_scripts has an unknown key '%s'; expected \"global\" and/or \"instances\"", key);
            }
        }
        ObjectNode global = section(scripts, "global");
        for (Map.Entry<String, JsonNode> entry : global.properties()) {
            if (!OS_TYPES.contains(entry.getKey())) {
                throw CloudException.badRequest("user_scripts.global has an unknown OS type '%s'; expected linux or windows", entry.getKey());
            }
            checkScript("user_scripts.global." + entry.getKey(), entry.getValue());
        }
        ObjectNode perInstance = section(scripts, "instances");
        for (Map.Entry<String, JsonNode> entry : perInstance.properties()) {
            if (!instances.contains(entry.getKey())) {
                throw CloudException.badRequest("user_scripts.instances names '%s', which is not one of the instances (%s)", entry.getKey(),
                        String.join(", ", instances));
            }
            checkScript("user_scripts.instances." + entry.getKey(), entry.getValue());
        }
        checked.set("global", global);
        checked.set("instances", perInstance);
        return checked;
    }

    /** {@code update}'s scripts over {@code current}'s: a given script replaces, a null one removes. */
    static ObjectNode merge(ObjectNode current, ObjectNode update) {
        ObjectNode merged = JsonNodeFactory.instance.objectNode();
        for (String key : new String[] {"global", "instances"}) {
            ObjectNode section = current.path(key).isObject() ? ((ObjectNode) current.get(key)).deepCopy() : JsonNodeFactory.instance.objectNode();
            for (Map.Entry<String, JsonNode> entry : update.path(key).properties()) {
                if (entry.getValue().isNull()) {
                    section.remove(entry.getKey());
                } else {
                    section.set(entry.getKey(), entry.getValue());
                }
            }
            merged.set(key, section);
        }
        return merged;
    }

    /** Only the scripts of {@code instances} (a replica deployment of some of its instances), nulls dropped. */
    static ObjectNode forInstances(ObjectNode scripts, Collection<String> instances) {
        ObjectNode kept = merge(JsonNodeFactory.instance.objectNode(), scripts);
        ((ObjectNode) kept.get("instances")).retain(instances);
        return kept;
    }

    /** The script OS morphing of a Linux {@code instance} runs: its own, else the global Linux one, else null. */
    static String linuxScript(ObjectNode scripts, String instance) {
        JsonNode own = scripts.path("instances").path(instance);
        if (own.isTextual()) {
            return own.textValue();
        }
        JsonNode global = scripts.path("global").path("linux");
        return global.isTextual() ? global.textValue() : null;
    }

    private static ObjectNode section(JsonNode scripts, String key) {
        JsonNode section = scripts.get(key);
        if (section == null || section.isNull()) {
            return JsonNodeFactory.instance.objectNode();
        }
        if (!section.isObject()) {
            throw CloudException.badRequest("user_scripts.%s must be an object", key);
        }
        return ((ObjectNode) section).deepCopy();
    }

    private static void checkScript(String where, JsonNode script) {
        if (script.isNull()) {
            return;
        }
        if (!script.isTextual()) {
            throw CloudException.badRequest("%s must be the script's text (a string) or null", where);
        }
        if (script.textValue().isBlank()) {
            throw CloudException.badRequest("%s is empty", where);
        }
        if (script.textValue().length() > MAX_SCRIPT_CHARS) {
            throw CloudException.badRequest("%s is %d characters long; at most %d are allowed", where, script.textValue().length(), MAX_SCRIPT_CHARS);
        }
    }
}
