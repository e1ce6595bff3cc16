/* INT1 (ICEBP, F1) raises a debug exception as a trap: Linux ends the process with SIGTRAP. */
#include <stdio.h>

int main(void) {
    puts("before int1");
    fflush(stdout);
    __asm__ volatile(".byte 0xf1");
    puts("after int1");
    return 0;
}
