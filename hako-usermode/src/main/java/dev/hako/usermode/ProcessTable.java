package dev.hako.usermode;

import dev.hako.soft.mmu.CodePages;
import dev.hako.sys.Libc;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The processes of one {@code hako user} run, as a kernel's task list: ids, the parent/child tree, the
 * zombies wait4 reaps, the futex table, and the bounds that keep a hostile program (a fork bomb, a thread
 * bomb) from exhausting the JVM: past {@link #MAX_PROCESSES} processes or {@link #MAX_THREADS} threads,
 * fork and clone fail with EAGAIN as they do at RLIMIT_NPROC. Locking: the table's monitor guards the tree
 * and the zombies; a process's own monitor guards its thread list.
 */
final class ProcessTable {
    static final int MAX_PROCESSES = 64, MAX_THREADS = 128;

    final PrintStream log;
    final String root;
    final SyscallTable syscalls = new SyscallTable();
    final Futexes futexes = new Futexes();
    /** Which pages hold decoded code, shared by every soft CPU of the run (see CodePages). */
    final CodePages codePages = new CodePages(AddressSpace.SIZE);
    /** The host's pid: the initial process has it, later ones count up from it. */
    final int hostPid = (int) Libc.syscall(39, 0, 0, 0, 0, 0, 0);
    private int nextId = hostPid;
    private final Map<Integer, GuestProcess> processes = new LinkedHashMap<>();
    private int liveThreads;
    private GuestProcess initial;
    private boolean initialEnded;

    ProcessTable(String root, PrintStream log) {
        this.root = root;
        this.log = log;
    }

    /** A new process id (thread ids come from the same space), or -EAGAIN past the bounds. */
    synchronized int allocate(boolean process) {
        if (liveThreads >= MAX_THREADS || (process && processes.size() >= MAX_PROCESSES)) {
            return -Errno.EAGAIN;
        }
        int id = nextId++;
        while (processes.containsKey(id) || id <= 1) {
            id = nextId++;
        }
        liveThreads++;
        return id;
    }

    /** Gives back an id {@link #allocate} handed out but that never ran. */
    synchronized void unallocate() {
        liveThreads--;
    }

    synchronized void add(GuestProcess p) {
        if (initial == null) {
            initial = p;
        }
        processes.put(p.pid, p);
        if (p.parent != null) {
            p.parent.children.add(p);
        }
    }

    synchronized GuestProcess process(long pid) {
        return pid > 0 && pid <= Integer.MAX_VALUE ? processes.get((int) pid) : null;
    }

    synchronized List<GuestProcess> all() {
        return new ArrayList<>(processes.values());
    }

    /** The thread {@code tid} in any process, or null. */
    GuestThread thread(long tid) {
        for (GuestProcess p : all()) {
            for (GuestThread t : p.threadList()) {
                if (t.tid == tid) {
                    return t;
                }
            }
        }
        return null;
    }

    synchronized void threadEnded() {
        liveThreads--;
    }

    /** The last thread of {@code p} ended: it becomes a zombie for its parent, or goes at once. */
    void processEnded(GuestProcess p) {
        GuestProcess parent;
        synchronized (this) {
            p.zombie = true;
            for (GuestProcess child : p.children) {
                child.parent = null;
                if (child.zombie) {
                    processes.remove(child.pid);
                }
            }
            p.children.clear();
            parent = p.parent;
            boolean reapedByNobody = parent == null || parent.sigactions[SignalInfo.SIGCHLD * 4] == 1;
            if (reapedByNobody) {
                if (parent != null) {
                    parent.children.remove(p);
                }
                if (p != initial) {
                    processes.remove(p.pid);
                }
            }
            if (p == initial) {
                initialEnded = true;
            }
            notifyAll();
        }
        if (parent != null && p.exitSignal > 0) {
            int status = p.waitStatus();
            boolean killed = (status & 0x7F) != 0 || status == GuestProcess.INTERNAL_ERROR;
            SignalDelivery.sendToProcess(parent, new SignalInfo(p.exitSignal, killed ? SignalInfo.CLD_KILLED
                    : SignalInfo.CLD_EXITED, p.pid & 0xFFFF_FFFFL, killed ? status & 0x7F : (status >> 8) & 0xFF,
                    0));
        }
        if (parent != null) {
            for (GuestThread t : parent.threadList()) {
                t.wake(); // a wait4 looks again
            }
        }
    }

    /** Removes a reaped zombie. */
    synchronized void reap(GuestProcess child) {
        processes.remove(child.pid);
        if (child.parent != null) {
            child.parent.children.remove(child);
        }
    }

    /** Waits for the initial process to end, then ends every other one; returns the initial wait status. */
    int awaitInitial(GuestProcess first) throws InterruptedException {
        synchronized (this) {
            while (!initialEnded) {
                wait();
            }
        }
        for (GuestProcess p : all()) {
            p.exitGroup(SignalInfo.SIGKILL);
        }
        long deadline = System.nanoTime() + 2_000_000_000L;
        for (GuestProcess p : all()) {
            for (GuestThread t : p.threadList()) {
                long left = (deadline - System.nanoTime()) / 1_000_000;
                if (left > 0) {
                    t.join(left);
                }
            }
        }
        return first.waitStatus();
    }
}
