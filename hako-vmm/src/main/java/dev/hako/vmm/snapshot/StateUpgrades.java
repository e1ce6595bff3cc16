package dev.hako.vmm.snapshot;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.hako.core.accel.VcpuState;
import dev.hako.core.x86.X86CpuState;
import java.io.IOException;
import java.util.List;

/**
 * Brings a component's state as an older hako saved it to the version this build's record has, before it is read as
 * strictly as any other: a record that grew fields lists, per version it left behind, the fields it added and where
 * their values come from (the architectural reset state, which is what the older build ran with). A version not
 * listed is left as it is, for the component's own restore to refuse.
 */
final class StateUpgrades {
    /** In {@code type}'s state at {@code version}, {@code object} (a path of field names) lacked {@code fields}. */
    private record Upgrade(String type, int version, List<String> object, List<String> fields, JsonNode defaults) {}

    private final List<Upgrade> upgrades;

    StateUpgrades(ObjectMapper json) {
        upgrades = List.of(
                // Version 2 carries the soft CPU's debug registers; before, a restored vCPU had them at reset.
                new Upgrade(VcpuState.class.getSimpleName(), 1, List.of("cpu"),
                        List.of("debugAddress", "dr6", "dr7"), asRead(json, X86CpuState.atReset())));
    }

    /** {@code value} as JSON read from text, with the number nodes a snapshot's own would have (int where it fits). */
    private static JsonNode asRead(ObjectMapper json, Object value) {
        try {
            return json.readTree(json.writeValueAsBytes(value));
        } catch (IOException e) {
            throw new IllegalStateException("a state converts to JSON and back", e);
        }
    }

    /** {@code state} (a component's saved state, of record type {@code type}) at this build's version. */
    JsonNode upgrade(String type, JsonNode state) {
        JsonNode upgraded = state;
        for (Upgrade u : upgrades) {
            if (!u.type.equals(type) || !upgraded.isObject() || upgraded.path("version").asInt(-1) != u.version) {
                continue;
            }
            ObjectNode copy = upgraded.deepCopy();
            JsonNode object = copy;
            for (String name : u.object) {
                object = object.path(name);
            }
            if (!object.isObject()) {
                continue; // not the shape the old version had: the strict read says so
            }
            for (String field : u.fields) {
                if (!object.has(field)) {
                    ((ObjectNode) object).set(field, u.defaults.get(field).deepCopy());
                }
            }
            copy.put("version", u.version + 1);
            upgraded = copy;
        }
        return upgraded;
    }
}
