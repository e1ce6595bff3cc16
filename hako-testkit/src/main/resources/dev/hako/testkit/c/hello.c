/* Hello: the smallest program, the first a new CPU mode or ABI must run (start-up, TLS, write, exit). */
#include <stdio.h>

int main(void) {
    printf("hello, world\n");
    return 0;
}
