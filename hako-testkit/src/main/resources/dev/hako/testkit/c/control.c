/* setjmp/longjmp, qsort with a comparator, recursion, function pointers, switch tables. */
#include <stdio.h>
#include <stdlib.h>
#include <setjmp.h>
#include <string.h>

static jmp_buf env;
static int depth;

static void dive(int n) {
    depth = n;
    if (n == 50) {
        longjmp(env, n);
    }
    dive(n + 1);
}

static int compare(const void *a, const void *b) {
    long x = *(const long *) a, y = *(const long *) b;
    return x < y ? -1 : x > y;
}

static int compare_strings(const void *a, const void *b) {
    return strcmp(*(char *const *) a, *(char *const *) b);
}

static long fib(int n) {
    return n < 2 ? n : fib(n - 1) + fib(n - 2);
}

static const char *name(int k) {
    switch (k) {
        case 0: return "zero"; case 1: return "one"; case 2: return "two"; case 3: return "three";
        case 4: return "four"; case 5: return "five"; case 6: return "six"; default: return "many";
    }
}

int main(void) {
    int v = setjmp(env);
    if (v == 0) {
        dive(0);
    }
    printf("longjmp returned %d at depth %d\n", v, depth);
    long values[1000];
    unsigned seed = 12345;
    for (int i = 0; i < 1000; i++) {
        seed = seed * 1103515245 + 12345;
        values[i] = (long) (seed >> 8) - (1L << 22);
    }
    qsort(values, 1000, sizeof values[0], compare);
    long check = 0;
    for (int i = 0; i < 1000; i++) {
        check = check * 7 + values[i];
    }
    printf("sorted %ld %ld %ld check %ld\n", values[0], values[500], values[999], check);
    char *words[] = {"pear", "apple", "fig", "banana", "cherry", "date", "elderberry", "grape"};
    qsort(words, 8, sizeof words[0], compare_strings);
    for (int i = 0; i < 8; i++) {
        printf("%s%c", words[i], i == 7 ? '\n' : ' ');
    }
    printf("fib %ld\n", fib(24));
    for (int k = 0; k < 9; k++) {
        printf("%s ", name(k));
    }
    printf("\n");
    char *heap = malloc(1 << 20);
    memset(heap, 7, 1 << 20);
    char *more = realloc(heap, 8 << 20);
    printf("heap %d %d\n", more[12345], more[(1 << 20) - 1]);
    free(more);
    return 3;
}
