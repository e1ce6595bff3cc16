package dev.hako.vmm.snapshot;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * A child process for {@link SnapshotKillTest}: writes snapshots of generation N, N+1, ... to one directory until
 * it is killed. Generation g's RAM has every other page filled with the byte g (the rest zero, so the file has
 * holes) and its document says {@code {"generation": g}}; "ready" on standard output says the first write begins.
 */
public final class SnapshotWriterLoop {
    static final long RAM = 8L << 20;

    private SnapshotWriterLoop() {}

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        int generation = Integer.parseInt(args[1]);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment ram = arena.allocate(RAM, 4096);
            System.out.println("ready");
            System.out.flush();
            while (true) {
                write(dir, ram, generation++);
            }
        }
    }

    static void write(Path dir, MemorySegment ram, int generation) throws Exception {
        for (long page = 0; page < RAM; page += 2 * SnapshotDirectory.PAGE) {
            ram.asSlice(page, SnapshotDirectory.PAGE).fill((byte) generation);
        }
        SnapshotDirectory.write(dir, ("{\"generation\": " + generation + "}").getBytes(StandardCharsets.UTF_8), ram);
    }
}
