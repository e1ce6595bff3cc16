/* Signals: handlers for raised and queued signals, blocked and pending signals, faults a handler recovers from
 * with siglongjmp (SIGSEGV on a null pointer, on a read-only page and on stack overflow on an alternate stack,
 * SIGFPE, SIGILL), an interval timer, and a signal sent to a child. */
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t usr1_count, alarm_count;
static volatile int queued_value, queued_code;
static sigjmp_buf recover;
static volatile void *fault_address;
static volatile int fault_signal, fault_code;

static void on_usr1(int sig) {
    (void) sig;
    usr1_count++;
}

static void on_usr2(int sig, siginfo_t *info, void *context) {
    (void) sig;
    (void) context;
    queued_value = info->si_value.sival_int;
    queued_code = info->si_code;
}

static void on_alarm(int sig) {
    (void) sig;
    alarm_count++;
}

static void on_fault(int sig, siginfo_t *info, void *context) {
    (void) context;
    fault_signal = sig;
    fault_code = info->si_code;
    fault_address = info->si_addr;
    siglongjmp(recover, 1);
}

static void handle(int sig, void (*handler)(int, siginfo_t *, void *), int flags) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = handler;
    sa.sa_flags = SA_SIGINFO | flags;
    sigemptyset(&sa.sa_mask);
    sigaction(sig, &sa, NULL);
}

static int recursion(int depth) {
    volatile char frame[4096];
    frame[0] = (char) depth;
    if (depth > 1000000) { /* never: a 1 MiB stack overflows long before */
        return 0;
    }
    return recursion(depth + 1) + frame[0];
}

int main(void) {
    signal(SIGUSR1, on_usr1);
    for (int i = 0; i < 3; i++) {
        raise(SIGUSR1);
    }
    printf("usr1 handled %d times\n", (int) usr1_count);

    handle(SIGUSR2, on_usr2, 0);
    union sigval v = {.sival_int = 1234};
    sigqueue(getpid(), SIGUSR2, v);
    printf("queued value %d from sigqueue %s\n", queued_value, queued_code == SI_QUEUE ? "yes" : "no");

    sigset_t block, pending, old;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR1);
    sigprocmask(SIG_BLOCK, &block, &old);
    raise(SIGUSR1);
    sigpending(&pending);
    printf("blocked: pending %d, handled %d\n", sigismember(&pending, SIGUSR1), (int) usr1_count);
    sigprocmask(SIG_SETMASK, &old, NULL);
    printf("unblocked: handled %d\n", (int) usr1_count);

    handle(SIGSEGV, on_fault, 0);
    handle(SIGFPE, on_fault, 0);
    handle(SIGILL, on_fault, 0);
    for (int i = 0; i < 3; i++) {
        if (sigsetjmp(recover, 1) == 0) {
            volatile int *null = (volatile int *) (uintptr_t) (16 * i);
            *null = 1;
            printf("no fault?\n");
        } else {
            printf("SIGSEGV %d: signal %d code %d address %p\n", i, fault_signal, fault_code, (void *) fault_address);
        }
    }
    sigprocmask(SIG_SETMASK, NULL, &old);
    printf("after siglongjmp SIGSEGV blocked: %d\n", sigismember(&old, SIGSEGV));

    long page_size = sysconf(_SC_PAGESIZE);
    char *page = mmap(NULL, page_size, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (sigsetjmp(recover, 1) == 0) {
        page[100] = 1;
    } else {
        printf("read-only page: signal %d code %s at offset %ld\n", fault_signal,
               fault_code == SEGV_ACCERR ? "SEGV_ACCERR" : "other", (long) ((char *) fault_address - page));
    }

    volatile int zero = 0;
    if (sigsetjmp(recover, 1) == 0) {
        printf("%d\n", 7 / zero);
    } else {
        printf("divide: signal %d code %s\n", fault_signal, fault_code == FPE_INTDIV ? "FPE_INTDIV" : "other");
    }
    if (sigsetjmp(recover, 1) == 0) {
        __asm__ volatile("ud2");
    } else {
        printf("ud2: signal %d code %s\n", fault_signal, fault_code == ILL_ILLOPN ? "ILL_ILLOPN" : "other");
    }

    /* Stack overflow (of a 1 MiB stack, whatever the caller's limit): only a handler on an alternate stack can
     * run. */
    struct rlimit limit;
    getrlimit(RLIMIT_STACK, &limit);
    limit.rlim_cur = limit.rlim_max < (1 << 20) ? limit.rlim_max : (1 << 20);
    setrlimit(RLIMIT_STACK, &limit);
    stack_t alt = {.ss_sp = malloc(1 << 16), .ss_size = 1 << 16, .ss_flags = 0};
    sigaltstack(&alt, NULL);
    handle(SIGSEGV, on_fault, SA_ONSTACK);
    if (sigsetjmp(recover, 1) == 0) {
        printf("%d\n", recursion(0));
    } else {
        printf("stack overflow: signal %d, handled on the alternate stack\n", fault_signal);
    }

    signal(SIGALRM, on_alarm);
    struct itimerval timer = {.it_interval = {0, 20000}, .it_value = {0, 20000}};
    setitimer(ITIMER_REAL, &timer, NULL);
    sigset_t none;
    sigemptyset(&none);
    while (alarm_count < 3) {
        sigsuspend(&none);
    }
    timer.it_interval.tv_usec = timer.it_value.tv_usec = 0;
    setitimer(ITIMER_REAL, &timer, NULL);
    printf("timer fired at least 3 times\n");

    sigprocmask(SIG_BLOCK, &block, NULL); /* the child inherits the block: no signal is lost before sigsuspend */
    pid_t pid = fork();
    if (pid == 0) {
        usr1_count = 0;
        while (usr1_count == 0) {
            sigsuspend(&none);
        }
        _exit(50 + usr1_count);
    }
    kill(pid, SIGUSR1);
    int status;
    waitpid(pid, &status, 0);
    printf("child woken by SIGUSR1 exited %d\n", WEXITSTATUS(status));
    return 0;
}
