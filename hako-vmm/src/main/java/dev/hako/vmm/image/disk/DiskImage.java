package dev.hako.vmm.image.disk;

import dev.hako.devices.backend.BlockBackend;
import java.io.IOException;
import java.nio.file.Path;

/** A disk image file opened by {@link DiskImages}: a block backend that knows its file and format. */
public interface DiskImage extends BlockBackend {
    Path path();

    DiskFormat format();

    /**
     * The first disk offset at or after {@code offset} that may hold nonzero data, or {@link #size()} when none
     * does: lets a copy skip what is known to be zero. The default knows nothing, so everything may be data.
     */
    default long nextData(long offset) throws IOException {
        return offset;
    }
}
