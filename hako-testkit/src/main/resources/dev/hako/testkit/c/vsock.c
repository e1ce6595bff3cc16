/*
 * A vsock peer for hako's guest tests (busybox has no AF_VSOCK):
 *   vsock listen PORT        accepts one connection on PORT and echoes every byte back until end of stream
 *   vsock connect PORT BYTES connects to the host (CID 2) on PORT, sends BYTES bytes of the test pattern from a
 *                            second thread while reading what comes back, and checks that it is the pattern
 * The pattern is the high bytes of the LCG x = x * 1103515245 + 12345 (mod 2^32) from x = 1, which the host side
 * of the test generates too. Every result is one line on stdout.
 */
#include <linux/vm_sockets.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static uint8_t pattern_byte(uint32_t *x) {
    *x = *x * 1103515245u + 12345u;
    return (uint8_t) (*x >> 16);
}

static int write_all(int fd, const uint8_t *buf, size_t n) {
    while (n > 0) {
        ssize_t w = write(fd, buf, n);
        if (w <= 0) {
            return -1;
        }
        buf += w;
        n -= (size_t) w;
    }
    return 0;
}

static int listen_and_echo(unsigned port) {
    int server = socket(AF_VSOCK, SOCK_STREAM, 0);
    struct sockaddr_vm addr = {.svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_ANY, .svm_port = port};
    if (server < 0 || bind(server, (struct sockaddr *) &addr, sizeof addr) < 0 || listen(server, 1) < 0) {
        perror("vsock listen");
        return 1;
    }
    printf("vsock-listening %u\n", port);
    fflush(stdout);
    int fd = accept(server, NULL, NULL);
    if (fd < 0) {
        perror("vsock accept");
        return 1;
    }
    static uint8_t buf[65536];
    long total = 0;
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) > 0) {
        if (write_all(fd, buf, (size_t) n) < 0) {
            perror("vsock echo write");
            return 1;
        }
        total += n;
    }
    close(fd);
    printf("vsock-echoed %ld\n", total);
    return 0;
}

struct sender {
    int fd;
    long bytes;
};

static void *send_pattern(void *arg) {
    struct sender *s = arg;
    static uint8_t buf[8192];
    uint32_t x = 1;
    for (long sent = 0; sent < s->bytes;) {
        size_t n = s->bytes - sent < (long) sizeof buf ? (size_t) (s->bytes - sent) : sizeof buf;
        for (size_t i = 0; i < n; i++) {
            buf[i] = pattern_byte(&x);
        }
        if (write_all(s->fd, buf, n) < 0) {
            perror("vsock send");
            return NULL;
        }
        sent += (long) n;
    }
    shutdown(s->fd, SHUT_WR);
    return NULL;
}

static int connect_and_check(unsigned port, long bytes) {
    int fd = socket(AF_VSOCK, SOCK_STREAM, 0);
    struct sockaddr_vm addr = {.svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_HOST, .svm_port = port};
    if (fd < 0 || connect(fd, (struct sockaddr *) &addr, sizeof addr) < 0) {
        perror("vsock connect");
        return 1;
    }
    struct sender s = {fd, bytes};
    pthread_t thread;
    pthread_create(&thread, NULL, send_pattern, &s);
    static uint8_t buf[65536];
    uint32_t x = 1;
    long received = 0, mismatch = -1;
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) > 0) {
        for (ssize_t i = 0; i < n; i++) {
            if (buf[i] != pattern_byte(&x) && mismatch < 0) {
                mismatch = received + i;
            }
        }
        received += n;
    }
    pthread_join(thread, NULL);
    close(fd);
    if (mismatch >= 0 || received != bytes) {
        printf("vsock-connect-bad received %ld mismatch at %ld\n", received, mismatch);
        return 1;
    }
    printf("vsock-connect-ok %ld\n", received);
    return 0;
}

int main(int argc, char **argv) {
    if (argc == 3 && strcmp(argv[1], "listen") == 0) {
        return listen_and_echo((unsigned) strtoul(argv[2], NULL, 10));
    }
    if (argc == 4 && strcmp(argv[1], "connect") == 0) {
        return connect_and_check((unsigned) strtoul(argv[2], NULL, 10), strtol(argv[3], NULL, 10));
    }
    fprintf(stderr, "usage: vsock listen PORT | vsock connect PORT BYTES\n");
    return 64;
}
