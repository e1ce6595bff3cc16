/*
 * A UDP peer for the user-networking test, run inside the guest: "udp PORT HOST HOSTPORT COUNT" sends one datagram
 * "guest-to-host" to HOST:HOSTPORT (through passt's gateway address), then answers COUNT datagrams that arrive on
 * PORT (through a udp host forward) with "echo:" and their bytes, each to its sender, and exits.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc != 5) {
        fprintf(stderr, "usage: udp PORT HOST HOSTPORT COUNT\n");
        return 2;
    }
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in local = {.sin_family = AF_INET, .sin_port = htons(atoi(argv[1])),
                                .sin_addr.s_addr = htonl(INADDR_ANY)};
    if (fd < 0 || bind(fd, (struct sockaddr *) &local, sizeof local) != 0) {
        perror("udp: bind");
        return 1;
    }
    struct sockaddr_in host = {.sin_family = AF_INET, .sin_port = htons(atoi(argv[3]))};
    if (inet_pton(AF_INET, argv[2], &host.sin_addr) != 1) {
        fprintf(stderr, "udp: bad address %s\n", argv[2]);
        return 2;
    }
    const char hello[] = "guest-to-host";
    if (sendto(fd, hello, sizeof hello - 1, 0, (struct sockaddr *) &host, sizeof host) < 0) {
        perror("udp: sendto");
        return 1;
    }
    printf("udp-ready\n");
    fflush(stdout);
    for (int n = atoi(argv[4]); n > 0; n--) {
        char in[1500], out[1510];
        struct sockaddr_in from;
        socklen_t fromLength = sizeof from;
        ssize_t got = recvfrom(fd, in, sizeof in, 0, (struct sockaddr *) &from, &fromLength);
        if (got < 0) {
            perror("udp: recvfrom");
            return 1;
        }
        memcpy(out, "echo:", 5);
        memcpy(out + 5, in, got);
        sendto(fd, out, got + 5, 0, (struct sockaddr *) &from, fromLength);
        printf("udp-echoed %zd\n", got);
        fflush(stdout);
    }
    return 0;
}
