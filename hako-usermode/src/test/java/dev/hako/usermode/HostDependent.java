package dev.hako.usermode;

import java.lang.foreign.ValueLayout;

/**
 * Instructions whose result on the host differs from hako's by design, for the random-code differential test:
 * CPUID, RDTSC(P), RDRAND, RDSEED, RDPID and XGETBV (the host's values), and the extensions hako's CPUID does not
 * advertise but the host CPU runs anyway: VEX, EVEX and XOP (AVX and later), the 0F 38 and 0F 3A maps (SSSE3,
 * SSE4, AES, SHA, MOVBE, ...), SSE3, POPCNT, LZCNT, TZCNT, XSAVE, FSGSBASE, MONITOR. Read from the instruction's
 * bytes: legacy prefixes and REX, then the opcode.
 */
final class HostDependent {
    private HostDependent() {}

    private static int byteAt(AddressSpace space, long gva) {
        if (!space.allows(gva, 1, AddressSpace.READ)) {
            return -1;
        }
        return space.ram.get(ValueLayout.JAVA_BYTE, gva) & 0xFF;
    }

    private static boolean legacyPrefix(int b) {
        return b == 0x66 || b == 0x67 || b == 0xF0 || b == 0xF2 || b == 0xF3 || b == 0x2E || b == 0x36 || b == 0x3E
                || b == 0x26 || b == 0x64 || b == 0x65;
    }

    /** Whether the instruction at {@code rip} is one of the host-dependent ones. */
    static boolean at(AddressSpace space, long rip) {
        long p = rip;
        int mandatory = 0;
        int b = byteAt(space, p);
        for (int n = 0; n < 15 && (legacyPrefix(b) || (b & 0xF0) == 0x40); n++) {
            if (b == 0x66 || b == 0xF2 || b == 0xF3) {
                mandatory = b;
            }
            b = byteAt(space, ++p);
        }
        if (b == 0xC4 || b == 0xC5 || b == 0x62) {
            return true;
        }
        if (b == 0x8F) {
            int modrm = byteAt(space, p + 1);
            return modrm >= 0 && (modrm >> 3 & 7) != 0;
        }
        if (b != 0x0F) {
            return false;
        }
        int op = byteAt(space, p + 1);
        int modrm = byteAt(space, p + 2);
        int reg = modrm < 0 ? -1 : modrm >> 3 & 7;
        boolean register = modrm >= 0xC0;
        return switch (op) {
            case 0xA2, 0x31, 0x38, 0x3A, 0x0D -> true; // CPUID, RDTSC, 3-byte maps, PREFETCHW
            case 0x01 -> modrm == 0xF9 || modrm == 0xD0 || modrm == 0xC8 || modrm == 0xC9 || modrm == 0xD1
                    || modrm == 0xCA || modrm == 0xCB || modrm == 0xEE || modrm == 0xEF; // RDTSCP XGETBV MONITOR ...
            case 0xC7 -> register ? reg >= 6 : reg >= 3 && reg <= 5; // RDRAND RDSEED RDPID; XRSTORS XSAVEC XSAVES
            case 0xAE -> register ? mandatory == 0xF3 && reg <= 3 : reg >= 4 && reg <= 5 || reg == 7 && mandatory != 0;
            case 0xB8, 0xBC, 0xBD -> mandatory == 0xF3; // POPCNT TZCNT LZCNT
            case 0x7C, 0x7D, 0xD0 -> mandatory == 0x66 || mandatory == 0xF2; // SSE3 horizontal, ADDSUB
            case 0x12, 0x16 -> mandatory == 0xF3 || op == 0x12 && mandatory == 0xF2; // MOVSLDUP MOVSHDUP MOVDDUP
            case 0xF0 -> mandatory == 0xF2; // LDDQU
            default -> false;
        };
    }

    /** The length of the INT3 or INT n at {@code rip}, prefixes included: #BP is a trap, RIP moves past it. */
    static long softwareInterruptLength(AddressSpace space, long rip) {
        long p = rip;
        int b = byteAt(space, p);
        for (int n = 0; n < 15 && (legacyPrefix(b) || (b & 0xF0) == 0x40); n++) {
            b = byteAt(space, ++p);
        }
        return p - rip + (b == 0xCD ? 2 : 1);
    }
}
