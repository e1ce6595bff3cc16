package dev.hako.usermode;

import dev.hako.soft.exec.Cpu;
import dev.hako.soft.exec.Interpreter;

/**
 * clone, fork and vfork. With CLONE_THREAD the child is another thread of the process: a new soft CPU on
 * the same address space, on its own Java thread (CLONE_SETTLS, CLONE_PARENT_SETTID, CLONE_CHILD_SETTID and
 * CLONE_CHILD_CLEARTID as Linux). Otherwise it is a new process with its own pid, a copy of the fd table
 * (new host fds for the same open file descriptions) and of the working directory and dispositions, and a
 * private copy of the address space, or, with CLONE_VM (vfork, posix_spawn), the same space until it
 * execs. With CLONE_VFORK the parent waits until the child execs or ends. clone3 is ENOSYS (libc falls back
 * to clone). Not provided: CLONE_FILES, CLONE_FS and CLONE_SIGHAND between processes (the child gets
 * copies), namespaces, CLONE_PIDFD, ptrace.
 */
final class CloneSyscalls {
    static final int FORK = 57, VFORK = 58, CLONE = 56, CLONE3 = 435;
    static final long CLONE_VM = 0x100, CLONE_SIGHAND = 0x800, CLONE_PIDFD = 0x1000, CLONE_VFORK = 0x4000,
            CLONE_THREAD = 0x10000, CLONE_NEWNS = 0x20000, CLONE_SETTLS = 0x80000, CLONE_PARENT_SETTID = 0x100000,
            CLONE_CHILD_CLEARTID = 0x200000, CLONE_CHILD_SETTID = 0x01000000;
    private static final long NAMESPACES = 0x7E020000L;

    private CloneSyscalls() {}

    static void register(SyscallTable t) {
        t.add(FORK, (p, a0, a1, a2, a3, a4, a5) -> clone(p, SignalInfo.SIGCHLD, 0, 0, 0, 0));
        t.add(VFORK, (p, a0, a1, a2, a3, a4, a5) -> clone(p, CLONE_VM | CLONE_VFORK | SignalInfo.SIGCHLD, 0, 0, 0, 0));
        t.add(CLONE, (p, flags, stack, ptid, ctid, tls, a5) -> clone(p, flags, stack, ptid, ctid, tls));
        t.add(CLONE3, (p, a0, a1, a2, a3, a4, a5) -> -Errno.ENOSYS);
    }

    static long clone(GuestProcess p, long flags, long stack, long ptid, long ctid, long tls) {
        GuestThread parent = GuestThread.current();
        boolean thread = (flags & CLONE_THREAD) != 0;
        if ((thread && (flags & (CLONE_VM | CLONE_SIGHAND)) != (CLONE_VM | CLONE_SIGHAND))
                || ((flags & CLONE_SIGHAND) != 0 && (flags & CLONE_VM) == 0) || (flags & NAMESPACES) != 0
                || (flags & CLONE_PIDFD) != 0) {
            return (flags & NAMESPACES) != 0 || (flags & CLONE_PIDFD) != 0 ? -Errno.EPERM : -Errno.EINVAL;
        }
        if ((flags & CLONE_PARENT_SETTID) != 0 && p.out(ptid, 4) < 0) {
            return -Errno.EFAULT;
        }
        ProcessTable table = p.table;
        int id = table.allocate(!thread);
        if (id < 0) {
            return id;
        }
        GuestProcess child;
        AddressSpace space;
        if (thread) {
            child = p;
            space = p.space;
        } else {
            space = (flags & CLONE_VM) != 0 ? p.space : p.space.copy();
            FdTable fds = p.fds.copy();
            GuestPaths paths = p.paths.copy(parent.scratch);
            if (paths == null) {
                fds.closeAll();
                if (space != p.space) {
                    space.releaseUnused();
                }
                table.unallocate();
                return -Errno.EMFILE;
            }
            child = new GuestProcess(table, id, p.name, p.exePath, space, fds, paths);
            child.parent = p;
            child.exitSignal = (int) (flags & 0xFF);
            child.brkStart = p.brkStart;
            child.brk = p.brk;
            child.mmapLow = p.mmapLow;
            child.mmapHigh = p.mmapHigh;
            System.arraycopy(p.sigactions, 0, child.sigactions, 0, p.sigactions.length);
        }
        Cpu from = parent.cpu();
        Cpu cpu = ProgramLoader.newCpu(table, space);
        CpuCopy.copy(from, cpu);
        cpu.r[Cpu.RAX] = 0;
        if (stack != 0) {
            cpu.r[Cpu.RSP] = stack;
        }
        if ((flags & CLONE_SETTLS) != 0) {
            cpu.fsBase = tls;
        }
        Interpreter interpreter = ProgramLoader.newInterpreter(cpu);
        GuestThread t = new GuestThread(child, id, space, cpu, interpreter);
        t.sigmask = parent.sigmask;
        if (!thread) {
            System.arraycopy(parent.altStack, 0, t.altStack, 0, 3);
        }
        if ((flags & CLONE_CHILD_CLEARTID) != 0) {
            t.clearChildTid = ctid;
        }
        if ((flags & CLONE_PARENT_SETTID) != 0) {
            p.space.writeInt(ptid, id);
            if (space != p.space && space.allows(ptid, 4, AddressSpace.WRITE)) {
                space.writeInt(ptid, id);
            }
        }
        if ((flags & CLONE_CHILD_SETTID) != 0 && space.allows(ctid, 4, AddressSpace.WRITE)) {
            space.writeInt(ctid, id);
        }
        boolean vfork = (flags & CLONE_VFORK) != 0 && !thread;
        if (vfork) {
            child.vforkReleased = false;
            child.vforkParent = parent;
        }
        child.addThread(t);
        if (!thread) {
            table.add(child);
        }
        t.start();
        if (vfork) {
            while (!child.vforkReleased && !parent.killed()) {
                parent.sleep(-1);
            }
        }
        return id;
    }
}
