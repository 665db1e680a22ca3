package io.strata.cli.output;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The formats against what python-openstackclient 6.0 (cliff 4.0, prettytable 3.6, PyYAML)
 * printed for the same data; the expected texts were captured from the real client.
 */
class OutputTest {
    private static final List<String> FLAVOR_COLUMNS = List.of("ID", "Name", "RAM", "Disk", "Ephemeral", "VCPUs", "Is Public");
    private static final List<List<Object>> FLAVORS = List.of(
            List.of("1", "m1.tiny", 512, 1, 0, 1, true),
            List.of("2", "m1.small", 2048, 20, 0, 1, true));

    private static String list(OutputSettings settings, List<String> header, List<? extends List<?>> rows) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        new Output(new PrintStream(bytes, true, StandardCharsets.UTF_8), settings).list(header, rows);
        return bytes.toString(StandardCharsets.UTF_8);
    }

    private static String show(OutputSettings settings, Map<String, ?> fields) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        new Output(new PrintStream(bytes, true, StandardCharsets.UTF_8), settings).show(fields);
        return bytes.toString(StandardCharsets.UTF_8);
    }

    private static OutputSettings format(Format format) {
        return new OutputSettings(format, List.of(), false, "", false, List.of(), false, null);
    }

    private static OutputSettings columns(Format format, String... columns) {
        return new OutputSettings(format, List.of(columns), false, "", false, List.of(), false, null);
    }

    @Test
    void listTableRightAlignsNumbersHeadersIncluded() {
        assertThat(list(OutputSettings.table(), FLAVOR_COLUMNS, FLAVORS)).isEqualTo("""
                +----+----------+------+------+-----------+-------+-----------+
                | ID | Name     |  RAM | Disk | Ephemeral | VCPUs | Is Public |
                +----+----------+------+------+-----------+-------+-----------+
                | 1  | m1.tiny  |  512 |    1 |         0 |     1 | True      |
                | 2  | m1.small | 2048 |   20 |         0 |     1 | True      |
                +----+----------+------+------+-----------+-------+-----------+
                """);
    }

    @Test
    void anEmptyListIsOneEmptyLineUnlessPrintEmpty() {
        assertThat(list(OutputSettings.table(), List.of("ID", "Name"), List.of())).isEqualTo("\n");
        OutputSettings printEmpty = new OutputSettings(Format.TABLE, List.of(), false, "", true, List.of(), false, null);
        assertThat(list(printEmpty, List.of("ID", "Name"), List.of())).isEqualTo("""
                +----+------+
                | ID | Name |
                +----+------+
                +----+------+
                """);
    }

    @Test
    void multiLineCellsSpreadOverLinesAndWideCharactersCountTwo() {
        assertThat(list(OutputSettings.table(), List.of("ID", "N"), List.of(List.of(1, "a\nbcd"), List.of(22, "é中")))).isEqualTo("""
                +----+-----+
                | ID | N   |
                +----+-----+
                |  1 | a   |
                |    | bcd |
                | 22 | é中 |
                +----+-----+
                """);
    }

    @Test
    void showTableIsLeftAlignedFieldValue() {
        Map<String, Object> fields = new LinkedHashMap<>();
        fields.put("disk", 1);
        fields.put("name", "m1.tiny");
        fields.put("properties", Columns.dict(Map.of("b", "2", "a", "1")));
        fields.put("swap", "");
        fields.put("description", null);
        assertThat(show(OutputSettings.table(), fields)).isEqualTo("""
                +-------------+--------------+
                | Field       | Value        |
                +-------------+--------------+
                | disk        | 1            |
                | name        | m1.tiny      |
                | properties  | a='1', b='2' |
                | swap        |              |
                | description | None         |
                +-------------+--------------+
                """);
    }

    @Test
    void jsonIsPythonsIndentTwoWithEscapedNonAscii() {
        Map<String, Object> fields = new LinkedHashMap<>();
        fields.put("a", "é");
        fields.put("b", List.of());
        fields.put("c", Map.of());
        fields.put("d", List.of(1, Map.of("e", Map.of())));
        fields.put("f", 1.0);
        fields.put("g", null);
        assertThat(show(format(Format.JSON), fields)).isEqualTo("""
                {
                  "a": "\\u00e9",
                  "b": [],
                  "c": {},
                  "d": [
                    1,
                    {
                      "e": {}
                    }
                  ],
                  "f": 1.0,
                  "g": null
                }
                """);
        OutputSettings noIndent = new OutputSettings(Format.JSON, List.of(), true, "", false, List.of(), false, null);
        assertThat(show(noIndent, Map.of("a", List.of(1, 2)))).isEqualTo("{\"a\": [1, 2]}\n");
    }

    @Test
    void jsonListsUseColumnNamesAndMachineValues() {
        List<List<Object>> rows = List.of(List.of("x", Columns.dictOfLists(Map.of("private", List.of("10.0.0.3")))));
        assertThat(list(format(Format.JSON), List.of("ID", "Networks"), rows)).isEqualTo("""
                [
                  {
                    "ID": "x",
                    "Networks": {
                      "private": [
                        "10.0.0.3"
                      ]
                    }
                  }
                ]
                """);
        assertThat(list(OutputSettings.table(), List.of("ID", "Networks"), rows)).contains("| x  | private=10.0.0.3 |");
    }

    @Test
    void valueIsPythonsStrOfTheMachineValue() {
        Map<String, Object> fields = new LinkedHashMap<>();
        fields.put("addresses", Columns.dictOfLists(Map.of("private", List.of("10.0.0.2"))));
        fields.put("locked", false);
        fields.put("task", null);
        fields.put("security_groups", Columns.listOfDicts(List.of(Map.of("name", "default"))));
        fields.put("quote", "it's");
        assertThat(show(format(Format.VALUE), fields)).isEqualTo("""
                {'private': ['10.0.0.2']}
                False
                None
                [{'name': 'default'}]
                it's
                """);
        assertThat(list(format(Format.VALUE), FLAVOR_COLUMNS, FLAVORS)).isEqualTo("1 m1.tiny 512 1 0 1 True\n2 m1.small 2048 20 0 1 True\n");
    }

    @Test
    void yamlSortsKeysAndQuotesWhatYamlWouldMisread() {
        Map<String, Object> fields = new LinkedHashMap<>();
        fields.put("b", List.of(Map.of("x", 1, "y", List.of(1, List.of(2, 3))), List.of()));
        Map<String, Object> a = new LinkedHashMap<>();
        a.put("c", Map.of());
        a.put("d", "yes");
        a.put("e", null);
        a.put("f", 1.5);
        a.put("g", true);
        fields.put("a", a);
        // The expected text is PyYAML's safe_dump(default_flow_style=False) of the same data.
        assertThat(show(format(Format.YAML), fields)).isEqualTo("""
                a:
                  c: {}
                  d: 'yes'
                  e: null
                  f: 1.5
                  g: true
                b:
                - x: 1
                  y:
                  - 1
                  - - 2
                    - 3
                - []
                """);
    }

    @Test
    void yamlScalarsQuotedExactlyAsPyYaml() {
        List<String> plain = List.of("-x", "x-", "1e3", "a,b", "x]", "?q", "q?", "y", "n", "0o17", "a'b", "x:y", "m1.tiny", "/dev/vda");
        List<String> quoted = List.of("", "1", "1.5", "true", "no", "null", "~", "2026-11-22T19:16:36Z", "a: b", "a #b", " x", "0x1F",
                "1_000", ".5", "@a", "`b", "%c", "[x", "{y", "!t", "&r", "*a", "|b", ">c", "=", "<<", "Yes", "ON", "12:30", "017", "+1",
                ".inf", "-.Inf", ".NaN", "2026-11-22", "foo: ", "#c");
        for (String text : plain) {
            assertThat(YamlWriter.write(Map.of("k", text))).as(text).isEqualTo("k: " + text + "\n");
        }
        for (String text : quoted) {
            assertThat(YamlWriter.write(Map.of("k", text))).as(text).isEqualTo("k: '" + text + "'\n");
        }
        assertThat(YamlWriter.write(Map.of("k", "'q"))).isEqualTo("k: '''q'\n");
        assertThat(YamlWriter.write(Map.of("k", "é"))).isEqualTo("k: \"\\u00e9\"\n");
    }

    @Test
    void shellNamesAreLowerCaseWithUnderscores() {
        Map<String, Object> fields = new LinkedHashMap<>();
        fields.put("OS-EXT-STS:power_state", new Cell(1, "Running"));
        fields.put("name", "say \"hi\"");
        fields.put("properties", Columns.dict(Map.of()));
        OutputSettings shell = new OutputSettings(Format.SHELL, List.of(), false, "vm_", false, List.of(), false, null);
        assertThat(show(shell, fields)).isEqualTo("""
                vm_os_ext_sts_power_state="1"
                vm_name="say \\"hi\\""
                vm_properties="{}"
                """);
    }

    @Test
    void csvQuotesNonNumericFieldsByDefault() {
        assertThat(list(format(Format.CSV), FLAVOR_COLUMNS, FLAVORS)).isEqualTo("""
                "ID","Name","RAM","Disk","Ephemeral","VCPUs","Is Public"
                "1","m1.tiny",512,1,0,1,True
                "2","m1.small",2048,20,0,1,True
                """);
    }

    @Test
    void columnsKeepTheirOrderAndUnknownOnesAreAnError() {
        assertThat(list(columns(Format.VALUE, "Name", "ID", "Nope"), FLAVOR_COLUMNS, FLAVORS)).isEqualTo("1 m1.tiny\n2 m1.small\n");
        assertThatThrownBy(() -> list(columns(Format.VALUE, "name"), FLAVOR_COLUMNS, FLAVORS))
                .hasMessage("No recognized column names in ['name']. Recognized columns are ['ID', 'Name', 'RAM', 'Disk', 'Ephemeral',"
                        + " 'VCPUs', 'Is Public'].");
        assertThat(show(columns(Format.VALUE, "b", "a"), Map.of("a", 1, "b", 2))).hasLineCount(2);
    }

    @Test
    void sortColumnsSortNumbersAsNumbers() {
        OutputSettings byRam = new OutputSettings(Format.VALUE, List.of("Name"), false, "", false, List.of("RAM"), true, null);
        List<List<Object>> rows = List.of(List.of("a", 512), List.of("b", 4096), List.of("c", 1024));
        assertThat(list(byRam, List.of("Name", "RAM"), rows)).isEqualTo("b\nc\na\n");
    }

    @Test
    void formatsAreCheckedPerKindOfOutput() {
        assertThat(Format.parse("JSON", true)).isEqualTo(Format.JSON);
        assertThatThrownBy(() -> Format.parse("shell", true)).hasMessage("invalid choice: 'shell' (choose from 'csv', 'json', 'table', 'value', 'yaml')");
        assertThatThrownBy(() -> Format.parse("csv", false)).hasMessage("invalid choice: 'csv' (choose from 'json', 'shell', 'table', 'value', 'yaml')");
    }
}
