/*
 * Runs machine-code cases natively, each in a forked child, and reports how each ended: the signal of its first
 * fault and the registers the kernel saved for it. The random-code differential test of hako's user mode feeds
 * it the same cases it runs on the soft CPU.
 *
 * Input (file argv[1], little-endian): u32 case count, DATA_SIZE bytes of the data pages' contents, then per
 * case 16 u64 initial GPRs (rax, rcx, rdx, rbx, rsp, rbp, rsi, rdi, r8..r15), u32 code length, the code bytes.
 * Output (stdout) per case: i32 signal (0: still running after its CPU-time limit; -1: ended without a
 * recorded fault), i32 trap number, u64 fault address, 16 u64 GPRs, u64 RIP, u64 RFLAGS.
 *
 * A child runs its case with every syscall turned into SIGSYS by a seccomp filter (the handler's own exit is
 * the one call let through), on an alternate signal stack, with a CPU-time limit, so random code can do
 * nothing to the host.
 */
#define _GNU_SOURCE
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <ucontext.h>
#include <unistd.h>

#define CODE 0x10000000UL
#define DATA 0x20000000UL
#define DATA_SIZE 0x3000UL
#define RESULT 0x50000000UL
#define EXIT_MAGIC 0x5A5A1234UL

struct result {
    int32_t signal, trapno;
    uint64_t addr, regs[16], rip, rflags;
    uint64_t done;
};

uint64_t init_regs[16];
uint64_t code_entry = CODE;
static const int GREG[16] = {REG_RAX, REG_RCX, REG_RDX, REG_RBX, REG_RSP, REG_RBP, REG_RSI, REG_RDI,
                             REG_R8, REG_R9, REG_R10, REG_R11, REG_R12, REG_R13, REG_R14, REG_R15};

static void on_fault(int sig, siginfo_t *si, void *ctx) {
    volatile struct result *r = (volatile struct result *) RESULT;
    greg_t *g = ((ucontext_t *) ctx)->uc_mcontext.gregs;
    r->signal = sig;
    r->trapno = (int32_t) g[REG_TRAPNO];
    r->addr = (uint64_t) si->si_addr;
    for (int k = 0; k < 16; k++) {
        r->regs[k] = (uint64_t) g[GREG[k]];
    }
    r->rip = (uint64_t) g[REG_RIP];
    r->rflags = (uint64_t) g[REG_EFL];
    r->done = 1;
    __asm__ volatile("mov $60, %%eax\n\tmov %0, %%rdi\n\tsyscall" : : "i"(EXIT_MAGIC) : "rax", "rdi", "memory");
    for (;;) {
    }
}

static void run_child(void) {
    static char altstack[65536];
    stack_t ss = {.ss_sp = altstack, .ss_size = sizeof altstack};
    sigaltstack(&ss, NULL);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_fault;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigfillset(&sa.sa_mask);
    int sigs[] = {SIGSEGV, SIGILL, SIGFPE, SIGBUS, SIGTRAP, SIGSYS};
    for (unsigned k = 0; k < sizeof sigs / sizeof sigs[0]; k++) {
        sigaction(sigs[k], &sa, NULL);
    }
    struct itimerval limit = {.it_value = {.tv_usec = 20000}};
    setitimer(ITIMER_VIRTUAL, &limit, NULL);
    struct sock_filter filter[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 60, 0, 3),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[0])),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, EXIT_MAGIC, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRAP),
    };
    struct sock_fprog program = {.len = sizeof filter / sizeof filter[0], .filter = filter};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 || prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &program) != 0) {
        _exit(99);
    }
    __asm__ volatile(
        "fninit\n\t"
        "pxor %%xmm0, %%xmm0\n\tpxor %%xmm1, %%xmm1\n\tpxor %%xmm2, %%xmm2\n\tpxor %%xmm3, %%xmm3\n\t"
        "pxor %%xmm4, %%xmm4\n\tpxor %%xmm5, %%xmm5\n\tpxor %%xmm6, %%xmm6\n\tpxor %%xmm7, %%xmm7\n\t"
        "pxor %%xmm8, %%xmm8\n\tpxor %%xmm9, %%xmm9\n\tpxor %%xmm10, %%xmm10\n\tpxor %%xmm11, %%xmm11\n\t"
        "pxor %%xmm12, %%xmm12\n\tpxor %%xmm13, %%xmm13\n\tpxor %%xmm14, %%xmm14\n\tpxor %%xmm15, %%xmm15\n\t"
        "lea init_regs(%%rip), %%r15\n\t"
        "pushq $0x202\n\tpopfq\n\t"
        "mov 0(%%r15), %%rax\n\tmov 8(%%r15), %%rcx\n\tmov 16(%%r15), %%rdx\n\tmov 24(%%r15), %%rbx\n\t"
        "mov 32(%%r15), %%rsp\n\tmov 40(%%r15), %%rbp\n\tmov 48(%%r15), %%rsi\n\tmov 56(%%r15), %%rdi\n\t"
        "mov 64(%%r15), %%r8\n\tmov 72(%%r15), %%r9\n\tmov 80(%%r15), %%r10\n\tmov 88(%%r15), %%r11\n\t"
        "mov 96(%%r15), %%r12\n\tmov 104(%%r15), %%r13\n\tmov 112(%%r15), %%r14\n\t"
        "mov 120(%%r15), %%r15\n\t"
        "jmp *code_entry(%%rip)\n\t"
        : : : "memory");
    _exit(98);
}

static void read_exactly(FILE *in, void *buffer, size_t size) {
    if (fread(buffer, 1, size, in) != size) {
        fprintf(stderr, "randexec: truncated input\n");
        exit(2);
    }
}

int main(int argc, char **argv) {
    FILE *in = argc > 1 ? fopen(argv[1], "rb") : NULL;
    if (in == NULL) {
        fprintf(stderr, "usage: randexec CASES\n");
        return 2;
    }
    uint32_t count;
    read_exactly(in, &count, 4);
    unsigned char *data = mmap((void *) DATA, DATA_SIZE, PROT_READ | PROT_WRITE,
                               MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    unsigned char *code = mmap((void *) CODE, 4096, PROT_READ | PROT_WRITE,
                               MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    volatile struct result *result = mmap((void *) RESULT, 4096, PROT_READ | PROT_WRITE,
                                          MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (data != (void *) DATA || code != (void *) CODE || result != (void *) RESULT) {
        fprintf(stderr, "randexec: cannot map the fixed pages\n");
        return 2;
    }
    read_exactly(in, data, DATA_SIZE);
    for (uint32_t c = 0; c < count; c++) {
        uint32_t length;
        read_exactly(in, init_regs, sizeof init_regs);
        read_exactly(in, &length, 4);
        if (length > 4096) {
            fprintf(stderr, "randexec: case too long\n");
            return 2;
        }
        mprotect(code, 4096, PROT_READ | PROT_WRITE);
        for (int k = 0; k < 4096; k += 2) {
            code[k] = 0x0F; /* ud2 after the case's bytes */
            code[k + 1] = 0x0B;
        }
        read_exactly(in, code, length);
        mprotect(code, 4096, PROT_READ | PROT_EXEC);
        memset((void *) result, 0, sizeof *result);
        fflush(stdout);
        pid_t child = fork();
        if (child == 0) {
            run_child();
        }
        int status;
        waitpid(child, &status, 0);
        struct result out;
        memcpy(&out, (const void *) result, sizeof out);
        if (!out.done) {
            out.signal = WIFSIGNALED(status) && WTERMSIG(status) == SIGVTALRM ? 0 : -1;
        }
        fwrite(&out, 1, offsetof(struct result, done), stdout);
    }
    return 0;
}
