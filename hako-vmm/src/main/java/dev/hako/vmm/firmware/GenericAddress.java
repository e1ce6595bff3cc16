package dev.hako.vmm.firmware;

/** ACPI Generic Address Structure (ACPI 6.5 5.2.3.2): where a register lives and how wide it is. */
public record GenericAddress(int spaceId, int bitWidth, int bitOffset, int accessSize, long address) {
    public static final int SYSTEM_MEMORY = 0;
    public static final int SYSTEM_IO = 1;
    public static final int ACCESS_BYTE = 1, ACCESS_WORD = 2, ACCESS_DWORD = 3;

    public static final GenericAddress NONE = new GenericAddress(0, 0, 0, 0, 0);

    /** An I/O port register of {@code bytes} bytes (0 bytes gives the "not present" address). */
    public static GenericAddress port(int port, int bytes) {
        if (port == 0 || bytes == 0) {
            return NONE;
        }
        int access = switch (bytes) {
            case 1 -> ACCESS_BYTE;
            case 2 -> ACCESS_WORD;
            default -> ACCESS_DWORD;
        };
        return new GenericAddress(SYSTEM_IO, bytes * 8, 0, access, port);
    }
}
