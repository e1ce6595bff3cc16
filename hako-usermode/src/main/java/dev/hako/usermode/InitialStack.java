package dev.hako.usermode;

import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * The process's initial stack as the x86-64 psABI (3.4.1, figure 3.9) and Linux's {@code create_elf_tables}
 * lay it out: argc, argv pointers, NULL, envp pointers, NULL, the auxiliary vector, then the strings and
 * the 16 AT_RANDOM bytes above. RSP is 16-byte aligned at the entry point and points at argc.
 */
final class InitialStack {
    static final int AT_NULL = 0, AT_PHDR = 3, AT_PHENT = 4, AT_PHNUM = 5, AT_PAGESZ = 6, AT_BASE = 7,
            AT_FLAGS = 8, AT_ENTRY = 9, AT_UID = 11, AT_EUID = 12, AT_GID = 13, AT_EGID = 14, AT_PLATFORM = 15,
            AT_HWCAP = 16, AT_CLKTCK = 17, AT_SECURE = 23, AT_RANDOM = 25, AT_EXECFN = 31;

    private InitialStack() {}

    /** Values the auxiliary vector reports about the program and the host user. */
    record AuxInfo(long phdr, long phnum, long entry, long hwcap, long uid, long euid, long gid, long egid) {}

    /** Writes the stack below {@code top} (mapped, writable) and returns the initial RSP. */
    static long build(AddressSpace space, long top, List<String> argv, List<String> env, String execfn,
            AuxInfo aux) {
        long sp = top;
        sp = putString(space, sp, execfn);
        long execfnAddr = sp;
        long[] argvAddr = new long[argv.size()];
        for (int k = argv.size() - 1; k >= 0; k--) {
            sp = putString(space, sp, argv.get(k));
            argvAddr[k] = sp;
        }
        long[] envAddr = new long[env.size()];
        for (int k = env.size() - 1; k >= 0; k--) {
            sp = putString(space, sp, env.get(k));
            envAddr[k] = sp;
        }
        sp = putString(space, sp, "x86_64");
        long platformAddr = sp;
        sp = (sp - 16) & ~15L;
        space.writeRandom(sp, 16); // getrandom(2): a SecureRandom's first use costs start-up its providers
        long randomAddr = sp;

        long[] auxv = {
            AT_PHDR, aux.phdr(), AT_PHENT, 56, AT_PHNUM, aux.phnum(), AT_PAGESZ, AddressSpace.PAGE,
            AT_BASE, 0, AT_FLAGS, 0, AT_ENTRY, aux.entry(), AT_UID, aux.uid(), AT_EUID, aux.euid(),
            AT_GID, aux.gid(), AT_EGID, aux.egid(), AT_SECURE, 0, AT_RANDOM, randomAddr, AT_HWCAP, aux.hwcap(),
            AT_CLKTCK, 100, AT_PLATFORM, platformAddr, AT_EXECFN, execfnAddr, AT_NULL, 0,
        };
        long words = 1 + argv.size() + 1 + env.size() + 1 + auxv.length;
        sp &= ~15L;
        if ((words & 1) != 0) {
            sp -= 8;
        }
        sp -= words * 8;
        long p = sp;
        space.writeLong(p, argv.size());
        p += 8;
        for (long a : argvAddr) {
            space.writeLong(p, a);
            p += 8;
        }
        space.writeLong(p, 0);
        p += 8;
        for (long a : envAddr) {
            space.writeLong(p, a);
            p += 8;
        }
        space.writeLong(p, 0);
        p += 8;
        for (long v : auxv) {
            space.writeLong(p, v);
            p += 8;
        }
        return sp;
    }

    private static long putString(AddressSpace space, long sp, String s) {
        byte[] bytes = s.getBytes(StandardCharsets.ISO_8859_1); // raw bytes, see GuestPaths.bytes
        sp -= bytes.length + 1;
        space.writeBytes(sp, bytes, 0, bytes.length);
        space.ram.set(java.lang.foreign.ValueLayout.JAVA_BYTE, sp + bytes.length, (byte) 0);
        return sp;
    }
}
