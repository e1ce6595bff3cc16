package dev.hako.core.accel;

/**
 * Where a vCPU's port I/O and MMIO go. The soft CPU calls it mid-instruction; KVM calls it on an exit. The
 * machine routes the calls to its port and MMIO buses. Primitives only: nothing allocates on this path.
 */
public interface IoHandler {
    /** Zero-extended value of an {@code size}-byte read of {@code port}; all ones where nothing answers. */
    long pioRead(int vcpu, int port, int size);

    void pioWrite(int vcpu, int port, int size, long value);

    /** Zero-extended value of an {@code size}-byte read at guest-physical {@code gpa}; all ones if unmapped. */
    long mmioRead(int vcpu, long gpa, int size);

    void mmioWrite(int vcpu, long gpa, int size, long value);

    /** Nothing answers anything: reads are all ones, writes vanish. */
    IoHandler NONE = new IoHandler() {
        @Override
        public long pioRead(int vcpu, int port, int size) {
            return size == 8 ? -1L : (1L << (size * 8)) - 1;
        }

        @Override
        public void pioWrite(int vcpu, int port, int size, long value) { }

        @Override
        public long mmioRead(int vcpu, long gpa, int size) {
            return size == 8 ? -1L : (1L << (size * 8)) - 1;
        }

        @Override
        public void mmioWrite(int vcpu, long gpa, int size, long value) { }
    };
}
