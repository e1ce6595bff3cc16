package dev.hako.vmm.image;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The host's mount points, from /proc/self/mountinfo (proc(5)): its fifth field is the mount point, with space,
 * tab, newline and backslash written as octal escapes.
 */
final class HostMounts {
    private static final Path MOUNTINFO = Path.of("/proc/self/mountinfo");

    private HostMounts() {
    }

    /** Mount points at or below {@code directory}; if mountinfo cannot be read, {@code directory} itself. */
    static List<Path> under(Path directory) {
        try {
            return under(directory, Files.readAllLines(MOUNTINFO));
        } catch (IOException e) {
            return List.of(directory);
        }
    }

    static List<Path> under(Path directory, List<String> mountinfo) {
        Path absolute = directory.toAbsolutePath().normalize();
        List<Path> mounts = new ArrayList<>();
        for (String line : mountinfo) {
            String[] fields = line.split(" ");
            if (fields.length > 4) {
                Path mountPoint = Path.of(unescape(fields[4]));
                if (mountPoint.startsWith(absolute)) {
                    mounts.add(mountPoint);
                }
            }
        }
        return mounts;
    }

    static String unescape(String field) {
        StringBuilder out = new StringBuilder(field.length());
        for (int i = 0; i < field.length(); i++) {
            char c = field.charAt(i);
            if (c == '\\' && isOctal(field, i + 1)) {
                out.append((char) Integer.parseInt(field.substring(i + 1, i + 4), 8));
                i += 3;
            } else {
                out.append(c);
            }
        }
        return out.toString();
    }

    private static boolean isOctal(String s, int from) {
        if (from + 3 > s.length()) {
            return false;
        }
        for (int i = from; i < from + 3; i++) {
            if (s.charAt(i) < '0' || s.charAt(i) > '7') {
                return false;
            }
        }
        return true;
    }
}
