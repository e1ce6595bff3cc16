/* String and memory functions over many sizes and alignments (glibc picks SSE2 variants by CPUID). */
#include <stdio.h>
#include <string.h>
#include <stdint.h>

static unsigned char src[4096 + 64], dst[4096 + 64];

static uint32_t hash(const unsigned char *p, size_t n) {
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) {
        h = (h ^ p[i]) * 16777619u;
    }
    return h;
}

int main(void) {
    for (int i = 0; i < (int) sizeof src; i++) {
        src[i] = (unsigned char) (i * 7 + 3);
    }
    uint32_t check = 0;
    static const size_t sizes[] = {0, 1, 2, 3, 7, 8, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 128, 255, 256, 1000, 4096};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        size_t n = sizes[s];
        for (int sa = 0; sa < 16; sa += 3) {
            for (int da = 0; da < 16; da += 5) {
                memset(dst, 0xEE, sizeof dst);
                memcpy(dst + da, src + sa, n);
                check = check * 33 + hash(dst, sizeof dst);
                memmove(dst + da + 1, dst + da, n);
                check = check * 33 + hash(dst, sizeof dst);
                memset(dst + sa, sa, n);
                check = check * 33 + hash(dst, sizeof dst) + (uint32_t) (memcmp(dst + sa, src + da, n) > 0);
            }
        }
    }
    printf("mem %08x\n", check);
    char text[600];
    for (int len = 0; len < 300; len += 7) {
        for (int a = 0; a < 16; a++) {
            char *s = text + a;
            memset(text, 'x', sizeof text);
            for (int i = 0; i < len; i++) {
                s[i] = (char) ('a' + (i * 5 + a) % 26);
            }
            s[len] = 0;
            char *q = strchr(s, 'q');
            char *r = strrchr(s, 'e');
            check = check * 33 + (uint32_t) strlen(s) + (uint32_t) (q ? q - s : -1) + (uint32_t) (r ? r - s : -1);
            check = check * 33 + (uint32_t) (strcmp(s, "abc") > 0) + (uint32_t) (strncmp(s, text + 1, 5) < 0);
            check = check * 33 + (uint32_t) (strstr(s, "kpuz") ? strstr(s, "kpuz") - s : 99);
            char copy[600];
            strcpy(copy, s);
            check = check * 33 + (uint32_t) strcmp(copy, s) + (uint32_t) strlen(strcat(copy, "!"));
        }
    }
    printf("str %08x\n", check);
    printf("%s|%.3s|%5s|%-5s|\n", "hello", "abcdef", "ab", "cd");
    return 0;
}
