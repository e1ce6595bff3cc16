/* Processes: fork with copy-on-write memory and a pipe, exit statuses collected with waitpid, a child killed
 * by a signal, execve of this program (through /proc/self/exe), posix_spawn, and a child's child. */
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static void describe(const char *what, int status) {
    if (WIFEXITED(status)) {
        printf("%s: exited %d\n", what, WEXITSTATUS(status));
    } else if (WIFSIGNALED(status)) {
        printf("%s: killed by signal %d\n", what, WTERMSIG(status));
    } else {
        printf("%s: status %#x\n", what, status);
    }
}

/* Run as "processes exec N": what an exec'd child does. */
static int execd(const char *arg) {
    int n = atoi(arg);
    printf("exec'd child got %d, parent is the forker: %s\n", n, getppid() > 1 ? "yes" : "no");
    return n;
}

int main(int argc, char **argv) {
    if (argc == 3 && strcmp(argv[1], "exec") == 0) {
        return execd(argv[2]);
    }
    setvbuf(stdout, NULL, _IONBF, 0); /* children write to the same stdout: no buffered copies */

    /* Copy-on-write: the child's writes stay in the child. */
    static char buffer[1 << 20];
    memset(buffer, 'p', sizeof buffer);
    int value = 1;
    int fds[2];
    if (pipe(fds) != 0) {
        perror("pipe");
        return 1;
    }
    pid_t pid = fork();
    if (pid == 0) {
        value = 2;
        memset(buffer, 'c', sizeof buffer);
        close(fds[0]);
        char message[64];
        int n = snprintf(message, sizeof message, "child value %d buffer %c%c", value, buffer[0],
                         buffer[sizeof buffer - 1]);
        if (write(fds[1], message, n) != n) {
            _exit(99);
        }
        _exit(7);
    }
    close(fds[1]);
    char got[64] = {0};
    ssize_t total = 0, n;
    while ((n = read(fds[0], got + total, sizeof got - 1 - total)) > 0) {
        total += n;
    }
    close(fds[0]);
    int status;
    if (waitpid(pid, &status, 0) != pid) {
        perror("waitpid");
        return 1;
    }
    printf("pipe: '%s'\n", got);
    describe("cow child", status);
    printf("parent value %d buffer %c%c\n", value, buffer[0], buffer[sizeof buffer - 1]);

    /* Several children, reaped in reverse order of creation. */
    pid_t kids[5];
    for (int i = 0; i < 5; i++) {
        kids[i] = fork();
        if (kids[i] == 0) {
            _exit(10 + i * 3);
        }
    }
    for (int i = 4; i >= 0; i--) {
        waitpid(kids[i], &status, 0);
        char what[32];
        snprintf(what, sizeof what, "child %d", i);
        describe(what, status);
    }

    /* A child that waits for a signal that kills it. */
    pid = fork();
    if (pid == 0) {
        for (;;) {
            pause();
        }
    }
    kill(pid, SIGTERM);
    waitpid(pid, &status, 0);
    describe("paused child", status);

    /* fork + execve of this very program. */
    pid = fork();
    if (pid == 0) {
        char *args[] = {argv[0], "exec", "42", NULL};
        execve("/proc/self/exe", args, environ);
        perror("execve");
        _exit(127);
    }
    waitpid(pid, &status, 0);
    describe("exec'd child", status);

    /* posix_spawn (clone with CLONE_VFORK in glibc). */
    char *args[] = {argv[0], "exec", "5", NULL};
    if (posix_spawn(&pid, "/proc/self/exe", NULL, NULL, args, environ) != 0) {
        perror("posix_spawn");
        return 1;
    }
    waitpid(pid, &status, 0);
    describe("spawned child", status);

    /* A grandchild: the child waits for its own child and passes its status on. */
    pid = fork();
    if (pid == 0) {
        pid_t inner = fork();
        if (inner == 0) {
            _exit(33);
        }
        int inner_status;
        waitpid(inner, &inner_status, 0);
        _exit(WEXITSTATUS(inner_status) + 1);
    }
    waitpid(pid, &status, 0);
    describe("grandchild's parent", status);
    printf("no children left: %s\n", wait(&status) < 0 ? "yes" : "no");
    return 3;
}
