/* Memory mappings: anonymous mmap, munmap of a hole, mprotect both ways, shared and private mappings across
 * fork, a shared file mapping against read(2), mremap, MADV_DONTNEED, and code written to a page that is
 * then made executable (as a JIT does), rewritten and run again. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

static sigjmp_buf recover;
static volatile int faults;

static void on_segv(int sig) {
    (void) sig;
    faults++;
    siglongjmp(recover, 1);
}

static uint32_t hash(const unsigned char *p, size_t n) {
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) {
        h = (h ^ p[i]) * 16777619u;
    }
    return h;
}

/* 1 if reading p faults. */
static int read_faults(volatile char *p) {
    if (sigsetjmp(recover, 1) == 0) {
        (void) *p;
        return 0;
    }
    return 1;
}

static int write_faults(volatile char *p) {
    if (sigsetjmp(recover, 1) == 0) {
        *p = 1;
        return 0;
    }
    return 1;
}

typedef int (*fn)(int);

int main(void) {
    signal(SIGSEGV, on_segv);
    long ps = sysconf(_SC_PAGESIZE);
    size_t size = 256 * ps;
    unsigned char *m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) {
        perror("mmap");
        return 1;
    }
    printf("fresh anonymous memory is zero: hash %08x\n", hash(m, size));
    for (size_t i = 0; i < size; i++) {
        m[i] = (unsigned char) (i * 13 + i / 4096);
    }
    printf("pattern hash %08x\n", hash(m, size));

    munmap(m + 100 * ps, 10 * ps);
    printf("hole: before %d start %d end %d after %d\n", read_faults((char *) m + 100 * ps - 1),
           read_faults((char *) m + 100 * ps), read_faults((char *) m + 110 * ps - 1),
           read_faults((char *) m + 110 * ps));
    printf("around the hole: %08x %08x\n", hash(m, 100 * ps), hash(m + 110 * ps, size - 110 * ps));

    mprotect(m, 4 * ps, PROT_READ);
    printf("read-only: read %d write %d\n", read_faults((char *) m + ps), write_faults((char *) m + ps));
    mprotect(m, 4 * ps, PROT_NONE);
    printf("no access: read %d\n", read_faults((char *) m + 2 * ps));
    mprotect(m, 4 * ps, PROT_READ | PROT_WRITE);
    printf("writable again: write %d, kept %08x\n", write_faults((char *) m + 3 * ps), hash(m, 3 * ps));

    int *shared = mmap(NULL, ps, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    int *private = mmap(NULL, ps, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    *shared = 1;
    *private = 1;
    pid_t pid = fork();
    if (pid == 0) {
        *shared = 2;
        *private = 2;
        _exit(0);
    }
    waitpid(pid, NULL, 0);
    printf("after the child wrote: shared %d private %d\n", *shared, *private);

    char path[] = "/tmp/hako-memory-XXXXXX";
    int fd = mkstemp(path);
    unlink(path);
    if (fd < 0 || ftruncate(fd, 3 * ps) != 0) {
        perror("file");
        return 1;
    }
    char *file = mmap(NULL, 3 * ps, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    strcpy(file + ps + 10, "written through the mapping");
    msync(file, 3 * ps, MS_SYNC);
    char back[64] = {0};
    pread(fd, back, 27, ps + 10);
    printf("file: '%s'\n", back);
    pwrite(fd, "changed by pwrite", 17, 2 * ps);
    printf("mapping sees: '%.17s'\n", file + 2 * ps);
    munmap(file, 3 * ps);
    close(fd);

    unsigned char *grown = mremap(m, 4 * ps, 64 * ps, MREMAP_MAYMOVE);
    printf("mremap: kept %08x, new part zero %08x\n", hash(grown, 4 * ps), hash(grown + 4 * ps, 60 * ps));
    memset(grown, 0x5a, 64 * ps);
    madvise(grown, 64 * ps, MADV_DONTNEED);
    printf("after MADV_DONTNEED: %08x\n", hash(grown, 64 * ps));

    /* mov eax, edi; add eax, imm32; ret */
    unsigned char code[] = {0x89, 0xF8, 0x05, 0x01, 0x00, 0x00, 0x00, 0xC3};
    unsigned char *jit = mmap(NULL, ps, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    int results = 0;
    for (int round = 0; round < 4; round++) {
        code[3] = (unsigned char) (round * 10);
        mprotect(jit, ps, PROT_READ | PROT_WRITE);
        memcpy(jit + round * 16, code, sizeof code);
        mprotect(jit, ps, PROT_READ | PROT_EXEC);
        results = results * 100 + ((fn) (jit + round * 16))(round);
    }
    printf("jit results %d, write to code page faults %d\n", results, write_faults((char *) jit));
    printf("faults %d\n", faults);
    return 0;
}
