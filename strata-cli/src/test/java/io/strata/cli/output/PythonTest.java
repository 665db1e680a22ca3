package io.strata.cli.output;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Python's str()/repr(), which -f value and -f shell print; expectations from CPython 3.11. */
class PythonTest {
    @Test
    void floatsAsPythonPrintsThem() {
        assertThat(Python.floatRepr(1.0)).isEqualTo("1.0");
        assertThat(Python.floatRepr(0.1)).isEqualTo("0.1");
        assertThat(Python.floatRepr(1.5e20)).isEqualTo("1.5e+20");
        assertThat(Python.floatRepr(1e16)).isEqualTo("1e+16");
        assertThat(Python.floatRepr(1e15)).isEqualTo("1000000000000000.0");
        assertThat(Python.floatRepr(1e-7)).isEqualTo("1e-07");
        assertThat(Python.floatRepr(0.0001)).isEqualTo("0.0001");
        assertThat(Python.floatRepr(-2.5)).isEqualTo("-2.5");
    }

    @Test
    void containersAndStrings() {
        Map<String, Object> map = new LinkedHashMap<>();
        map.put("a", List.of("x", 1L, true));
        map.put("b", null);
        map.put("c", "it's");
        assertThat(Python.repr(map)).isEqualTo("{'a': ['x', 1, True], 'b': None, 'c': \"it's\"}");
        assertThat(Python.str("plain")).isEqualTo("plain");
        assertThat(Python.repr("a\nb\\")).isEqualTo("'a\\nb\\\\'");
    }

    @Test
    void dictColumnsFlattenNestedMapsAsOscLibDoes() {
        Map<String, Object> flavor = new LinkedHashMap<>();
        flavor.put("vcpus", 1);
        flavor.put("extra_specs", Map.of("hw:cpu_policy", "dedicated"));
        flavor.put("original_name", "m1.tiny");
        flavor.put("description", null);
        assertThat(Columns.dict(flavor).human()).isEqualTo("description=, extra_specs.hw:cpu_policy='dedicated', original_name='m1.tiny', vcpus='1'");
        assertThat(Columns.list(List.of("b", "a")).human()).isEqualTo("a, b");
        assertThat(Columns.dictOfLists(Map.of("net2", List.of("b"), "net1", List.of("d", "c"))).human()).isEqualTo("net1=c, d; net2=b");
    }
}
