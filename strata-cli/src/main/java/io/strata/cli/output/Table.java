package io.strata.cli.output;

import java.util.ArrayList;
import java.util.List;

/**
 * Text tables as prettytable draws them for the openstack client: a frame of +, - and |, one
 * space of padding, multi-line cells spread over several text lines, each column aligned left or
 * right (headers too), widths measured in terminal columns (wide CJK characters count two).
 */
final class Table {
    enum Align { LEFT, RIGHT }

    private Table() {}

    static String render(List<String> header, List<Align> aligns, List<List<String>> rows) {
        int[] widths = new int[header.size()];
        for (int i = 0; i < header.size(); i++) {
            widths[i] = width(header.get(i));
        }
        List<List<String[]>> split = new ArrayList<>();
        for (List<String> row : rows) {
            List<String[]> cells = new ArrayList<>();
            for (int i = 0; i < row.size(); i++) {
                String[] lines = row.get(i).split("\n", -1);
                for (String line : lines) {
                    widths[i] = Math.max(widths[i], width(line));
                }
                cells.add(lines);
            }
            split.add(cells);
        }
        String rule = rule(widths);
        StringBuilder out = new StringBuilder(rule).append('\n');
        out.append(line(widths, aligns, header)).append('\n').append(rule).append('\n');
        for (List<String[]> cells : split) {
            int height = cells.stream().mapToInt(lines -> lines.length).max().orElse(1);
            for (int k = 0; k < height; k++) {
                List<String> texts = new ArrayList<>();
                for (String[] lines : cells) {
                    texts.add(k < lines.length ? lines[k] : "");
                }
                out.append(line(widths, aligns, texts)).append('\n');
            }
        }
        return out.append(rule).append('\n').toString();
    }

    private static String rule(int[] widths) {
        StringBuilder b = new StringBuilder("+");
        for (int w : widths) {
            b.append("-".repeat(w + 2)).append('+');
        }
        return b.toString();
    }

    private static String line(int[] widths, List<Align> aligns, List<String> texts) {
        StringBuilder b = new StringBuilder("|");
        for (int i = 0; i < widths.length; i++) {
            String text = texts.get(i);
            String pad = " ".repeat(widths[i] - width(text));
            b.append(' ').append(aligns.get(i) == Align.RIGHT ? pad + text : text + pad).append(" |");
        }
        return b.toString();
    }

    /** Terminal columns a text takes: wide East Asian characters two, combining marks none. */
    static int width(String text) {
        int width = 0;
        for (int i = 0; i < text.length(); ) {
            int cp = text.codePointAt(i);
            i += Character.charCount(cp);
            int type = Character.getType(cp);
            if (type == Character.NON_SPACING_MARK || type == Character.ENCLOSING_MARK || type == Character.FORMAT) {
                continue;
            }
            width += wide(cp) ? 2 : 1;
        }
        return width;
    }

    private static boolean wide(int cp) {
        return (cp >= 0x1100 && cp <= 0x115F) || (cp >= 0x2E80 && cp <= 0xA4CF && cp != 0x303F) || (cp >= 0xAC00 && cp <= 0xD7A3)
                || (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0xFE30 && cp <= 0xFE4F) || (cp >= 0xFF00 && cp <= 0xFF60)
                || (cp >= 0xFFE0 && cp <= 0xFFE6) || (cp >= 0x1F300 && cp <= 0x1F64F) || (cp >= 0x1F900 && cp <= 0x1F9FF)
                || (cp >= 0x20000 && cp <= 0x3FFFD);
    }
}
