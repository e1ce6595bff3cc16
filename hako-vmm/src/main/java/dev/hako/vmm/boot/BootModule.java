package dev.hako.vmm.boot;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * A Multiboot module: its contents and the string the kernel gets with it. Modules are given as QEMU's
 * {@code -initrd} gives them to a Multiboot kernel: {@code FILE[ ARGS][,FILE[ ARGS]...]}, a comma in a name
 * written as {@code ,,}; a module's string is its whole item (the file name and what follows it), its contents
 * the file named before the first space.
 */
public record BootModule(String string, byte[] data) {
    public BootModule {
        Objects.requireNonNull(string, "string");
        Objects.requireNonNull(data, "data");
    }

    /** The items of {@code text}, split at single commas, each {@code ,,} turned into a comma. */
    public static List<String> items(String text) {
        List<String> items = new ArrayList<>();
        StringBuilder item = new StringBuilder();
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c == ',' && i + 1 < text.length() && text.charAt(i + 1) == ',') {
                item.append(',');
                i++;
            } else if (c == ',') {
                items.add(item.toString());
                item.setLength(0);
            } else {
                item.append(c);
            }
        }
        items.add(item.toString());
        return items;
    }

    /** The file an item names: the item up to its first space. */
    public static Path file(String item) {
        int space = item.indexOf(' ');
        return Path.of(space < 0 ? item : item.substring(0, space));
    }
}
