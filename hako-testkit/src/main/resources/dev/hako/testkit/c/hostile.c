/* Hostile programs, by argv[1]: "forkbomb" forks until fork fails (the children wait forever), "spin" leaves a
 * thread spinning while main returns, "badframe" calls rt_sigreturn with the stack pointer on an unmapped page. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void *spin(void *arg) {
    (void) arg;
    for (volatile unsigned long i = 0;; i++) {
    }
    return NULL;
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc == 2 && strcmp(argv[1], "forkbomb") == 0) {
        for (int n = 0; n < 100000; n++) {
            pid_t pid = fork();
            if (pid == 0) {
                for (;;) {
                    pause();
                }
            }
            if (pid < 0) {
                printf("fork failed: %s\n", errno == EAGAIN ? "EAGAIN" : strerror(errno));
                return 0;
            }
        }
        printf("fork never failed\n");
        return 1;
    }
    if (argc == 2 && strcmp(argv[1], "spin") == 0) {
        pthread_t t;
        pthread_create(&t, NULL, spin, NULL);
        printf("main returns with a thread spinning\n");
        return 5;
    }
    if (argc == 2 && strcmp(argv[1], "badframe") == 0) {
        printf("bad sigreturn frame\n");
        __asm__ volatile("mov $0x1000, %%rsp\n\tmov $15, %%eax\n\tsyscall" ::: "memory");
        return 0;
    }
    return 2;
}
