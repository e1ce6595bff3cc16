/*
 * A debugger's hardware watchpoint and single-step, through ptrace: the child stops, the parent arms DR0/DR7
 * (PTRACE_POKEUSER into struct user's u_debugreg) as a write watchpoint on an 8-byte variable, continues, and
 * reports each SIGTRAP with the value the child stored and DR6's breakpoint bits; then it disarms it and
 * single-steps the child. Everything printed derives from the program itself, so the output is the same on
 * any CPU that implements the debug registers.
 */
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ptrace.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

#define DR7_L0 0x1UL
#define DR7_RW0_WRITE (0x1UL << 16)
#define DR7_LEN0_8 (0x2UL << 18)

static volatile long watched;
static volatile long untouched_neighbour;

static void __attribute__((noinline)) store(long v) {
    watched = v;
}

static void child(void) {
    ptrace(PTRACE_TRACEME, 0, 0, 0);
    raise(SIGSTOP);
    for (long i = 1; i <= 3; i++) {
        untouched_neighbour = i; /* not watched: no trap */
        store(i * 10);
    }
    raise(SIGSTOP); /* the parent single-steps from here */
    for (volatile int k = 0; k < 100; k++) {
    }
    _exit(7);
}

static long debugreg(int n) {
    return (long) offsetof(struct user, u_debugreg) + n * (long) sizeof(long);
}

static int wait_stop(pid_t pid, const char *what) {
    int status;
    if (waitpid(pid, &status, 0) != pid) {
        perror("waitpid");
        exit(1);
    }
    if (!WIFSTOPPED(status)) {
        printf("%s: child ended, status %d\n", what, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
        return -1;
    }
    return WSTOPSIG(status);
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    pid_t pid = fork();
    if (pid == 0) {
        child();
    }
    if (wait_stop(pid, "first stop") != SIGSTOP) {
        return 1;
    }
    if (ptrace(PTRACE_POKEUSER, pid, debugreg(0), (void *) &watched) != 0
            || ptrace(PTRACE_POKEUSER, pid, debugreg(7), (void *) (DR7_L0 | DR7_RW0_WRITE | DR7_LEN0_8)) != 0) {
        perror("PTRACE_POKEUSER");
        return 1;
    }
    printf("dr7 reads %#lx\n", ptrace(PTRACE_PEEKUSER, pid, debugreg(7), 0));
    int traps = 0;
    while (1) {
        ptrace(PTRACE_CONT, pid, 0, 0);
        int sig = wait_stop(pid, "continue");
        if (sig != SIGTRAP) {
            printf("stopped by signal %d after %d traps\n", sig, traps);
            break;
        }
        traps++;
        siginfo_t info;
        ptrace(PTRACE_GETSIGINFO, pid, 0, &info);
        long value = ptrace(PTRACE_PEEKDATA, pid, (void *) &watched, 0);
        long dr6 = ptrace(PTRACE_PEEKUSER, pid, debugreg(6), 0);
        struct user_regs_struct regs;
        ptrace(PTRACE_GETREGS, pid, 0, &regs);
        /* A trap: the store has completed, and RIP is past it, still in store(). */
        long offset = (long) regs.rip - (long) (void *) store;
        printf("trap %d: si_code %d, watched %ld, dr6 b0-b3 %#lx, rip in store() %s\n", traps, info.si_code,
                value, dr6 & 0xF, offset > 0 && offset < 64 ? "yes" : "no");
    }
    ptrace(PTRACE_POKEUSER, pid, debugreg(7), 0);
    long previous = 0;
    int moved = 0;
    for (int step = 0; step < 20; step++) {
        ptrace(PTRACE_SINGLESTEP, pid, 0, 0);
        int sig = wait_stop(pid, "step");
        if (sig != SIGTRAP) {
            printf("step %d: signal %d\n", step, sig);
            break;
        }
        siginfo_t info;
        ptrace(PTRACE_GETSIGINFO, pid, 0, &info);
        struct user_regs_struct regs;
        ptrace(PTRACE_GETREGS, pid, 0, &regs);
        moved += regs.rip != (unsigned long) previous;
        previous = (long) regs.rip;
        if (step < 3) {
            printf("step %d: SIGTRAP si_code %d\n", step, info.si_code);
        }
    }
    printf("20 steps, rip moved %d times\n", moved);
    ptrace(PTRACE_CONT, pid, 0, 0);
    int status;
    waitpid(pid, &status, 0);
    printf("child exit %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    return 0;
}
