package dev.hako.mgmt.cli;

import dev.hako.vmm.machine.Machine;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The exit statuses of hako's commands. {@code hako run} ends with the guest's outcome ({@link Machine}'s
 * 0 to 4); the rest follow sysexits.h, so that no failure of hako itself looks like a guest's.
 */
final class ExitStatus {
    /** EX_USAGE: the command line asks for something wrong or impossible here (an option, a value, a file). */
    static final int USAGE = 64;
    /** EX_UNAVAILABLE: the host lacks something hako needs (apt for the default guest, memory for the guest). */
    static final int UNAVAILABLE = 69;
    /** EX_SOFTWARE: a bug in hako; the only case that prints a stack trace. */
    static final int INTERNAL_ERROR = 70;
    /** EX_IOERR: reading or writing a host file failed. */
    static final int IO_ERROR = 74;
    /** EX_UNAVAILABLE for {@code hako vm}: the server is not reachable (no socket, no answer). */
    static final int UNREACHABLE = 69;
    /** EX_NOINPUT for {@code hako vm}: no VM of that name. */
    static final int NO_SUCH_VM = 66;
    /** EX_TEMPFAIL for {@code hako vm}: a conflict (the name is in use, the VM's state does not allow it). */
    static final int CONFLICT = 75;
    /**
     * EX_PROTOCOL for {@code hako vm migrate}: the destination was told to run the guest and did not confirm it; the
     * VM stays paused in the server.
     */
    static final int OUTCOME_UNKNOWN = 76;
    /** EX_NOPERM for {@code hako vm}: the server refused the request (a TCP request without the token). */
    static final int NO_PERMISSION = 77;

    /** What each status of {@code hako run} means, in order, for its --help. */
    static final Map<String, String> RUN = statuses(
        Machine.EXIT_POWER_OFF, "the guest powered off or reset, or Ctrl-A X ended it",
        Machine.EXIT_TRIPLE_FAULT, "the guest triple-faulted (with a register dump)",
        Machine.EXIT_FAILURE, "hako could not run the guest: an emulation or accelerator failure (with a register "
                + "dump)",
        Machine.EXIT_WATCHDOG, "the watchdog ended a vCPU that made no progress (with a register dump)",
        Machine.EXIT_GUEST_PANIC, "the guest kernel panicked and said so through the pvpanic device (Linux's "
                + "pvpanic-mmio driver, a module in Debian's kernels)",
        "odd", "with --device isa-debug-exit: the guest wrote V to it, and the status is (V << 1) | 1, as QEMU's, "
                + "up to 255 (1 and 3 may mean this too)",
        USAGE, "the command line is wrong (an option, a value, or a file that is missing, unreadable, not a "
                + "kernel or too large) or asks for what this host cannot do (--accel kvm without a KVM that runs "
                + "the guest)",
        UNAVAILABLE, "the host lacks what hako needs: apt for the default guest, passt for --net user "
                + "(apt-get install passt), or memory for the guest",
        INTERNAL_ERROR, "a bug in hako (with a stack trace: please report it)",
        IO_ERROR, "reading or writing a host file failed, or an incoming migration (--incoming) failed before the "
                + "guest ran here",
        "128+N", "ended by signal N: on SIGTERM (143), SIGINT (130) and SIGHUP (129) the guest is stopped and every "
                + "disk image flushed and closed first");

    /** What each status of {@code hako vm} means, for its --help and the README. */
    static final Map<String, String> VM = statuses(
        0, "done",
        USAGE, "bad request: an option or a value the server refused (the message names the field)",
        NO_SUCH_VM, "no VM of that name",
        UNREACHABLE, "no server answers on the socket",
        INTERNAL_ERROR, "a bug in hako (the server logged it)",
        CONFLICT, "a conflict: the name is in use, or the VM's state does not allow it (e.g. start a running VM)",
        OUTCOME_UNKNOWN, "migrate: the destination was told to run the guest and did not confirm it; the VM stays "
                + "paused here: resume it (hako vm resume NAME) only if the destination's guest is not running",
        NO_PERMISSION, "the server refused the request");

    private static Map<String, String> statuses(Object... pairs) {
        Map<String, String> map = new LinkedHashMap<>();
        for (int i = 0; i < pairs.length; i += 2) {
            map.put(pairs[i] instanceof Integer status ? String.format("%3d", status) : (String) pairs[i],
                    (String) pairs[i + 1]);
        }
        return Collections.unmodifiableMap(map);
    }

    private ExitStatus() {}
}
