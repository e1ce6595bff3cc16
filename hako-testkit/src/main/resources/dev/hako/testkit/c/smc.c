/* Self-modifying code: write an instruction into an RWX page, run it, overwrite it, run it again. */
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

typedef int (*fn)(int);

int main(void) {
    unsigned char *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (page == MAP_FAILED) {
        perror("mmap");
        return 1;
    }
    /* mov eax, imm32; ret */
    unsigned char ret_const[] = {0xB8, 0x2A, 0x00, 0x00, 0x00, 0xC3};
    memcpy(page, ret_const, sizeof ret_const);
    fn f = (fn) page;
    int total = 0;
    for (int i = 0; i < 5; i++) {
        page[1] = (unsigned char) (i * 10); /* patch the immediate each time */
        total = total * 100 + f(0);
    }
    printf("patched %d\n", total);
    /* lea eax, [rdi + rdi*2]; ret  (3 * x) */
    unsigned char triple[] = {0x8D, 0x04, 0x7F, 0xC3};
    memcpy(page, triple, sizeof triple);
    printf("triple %d\n", f(14));
    /* a new function on the same page, next to the old one: neg edi; mov eax, edi; ret */
    unsigned char neg[] = {0xF7, 0xDF, 0x89, 0xF8, 0xC3};
    memcpy(page + 64, neg, sizeof neg);
    printf("neg %d triple %d\n", ((fn) (page + 64))(9), f(5));
    /* unmapped and mapped again at (likely) the same place: the old code must not be run */
    munmap(page, 4096);
    unsigned char *again = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    memcpy(again, ret_const, sizeof ret_const);
    again[1] = 7;
    printf("remapped %d\n", ((fn) again)(0));
    return 0;
}
