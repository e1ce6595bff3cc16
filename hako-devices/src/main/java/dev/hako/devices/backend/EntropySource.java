package dev.hako.devices.backend;

import java.lang.foreign.MemorySegment;

/**
 * The host's random bytes for an entropy device, written straight into guest RAM. The machine supplies the host
 * kernel's getrandom(2) (hako-sys {@code HostRandom}); an implementation must not allocate per call.
 */
@FunctionalInterface
public interface EntropySource {
    /** Fills {@code length} bytes of {@code target} at {@code offset} with random bytes. */
    void fill(MemorySegment target, long offset, long length);
}
