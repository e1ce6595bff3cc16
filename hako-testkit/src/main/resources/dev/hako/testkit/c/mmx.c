/* MMX and the SSE instructions on MMX registers, in inline assembly (GCC compiles MMX intrinsics to SSE in
 * 64-bit code), over edge-heavy inputs; then the x87 aliasing a program can see: FNSTENV's tag word and TOP
 * after MMX code and after EMMS, and x87 arithmetic without the EMMS it needs. */
#include <stdint.h>
#include <stdio.h>

static const uint64_t inputs[] = {
    0, 1, 0xFFFFFFFFFFFFFFFFull, 0x7F807FFF80007FFFull, 0x8000800080008000ull, 0x00FF00FF00FF00FFull,
    0x0123456789ABCDEFull, 0xFEDCBA9876543210ull, 0x7FFFFFFF80000000ull, 0x8080808080808080ull,
    0x0102030405060708ull, 0xF0E0D0C0B0A09080ull,
};
#define N (sizeof inputs / sizeof inputs[0])

#define BINARY(name, insn)                                                                      \
    static uint64_t name(uint64_t a, uint64_t b) {                                          \
        uint64_t r;                                                                         \
        __asm__("movq %1, %%mm0\n\tmovq %2, %%mm1\n\t" insn " %%mm1, %%mm0\n\tmovq %%mm0, %0" \
                : "=m"(r) : "m"(a), "m"(b) : "mm0", "mm1");                                  \
        return r;                                                                           \
    }
#define FROM_MEMORY(name, insn)                                                                 \
    static uint64_t name(uint64_t a, uint64_t b) {                                          \
        uint64_t r;                                                                         \
        __asm__("movq %1, %%mm2\n\t" insn " %2, %%mm2\n\tmovq %%mm2, %0"                     \
                : "=m"(r) : "m"(a), "m"(b) : "mm2");                                         \
        return r;                                                                           \
    }

BINARY(paddb, "paddb") BINARY(paddw, "paddw") BINARY(paddd, "paddd") BINARY(paddq, "paddq")
BINARY(psubb, "psubb") BINARY(psubw, "psubw") BINARY(psubd, "psubd") BINARY(psubq, "psubq")
BINARY(paddsb, "paddsb") BINARY(paddsw, "paddsw") BINARY(psubsb, "psubsb") BINARY(psubsw, "psubsw")
BINARY(paddusb, "paddusb") BINARY(paddusw, "paddusw") BINARY(psubusb, "psubusb") BINARY(psubusw, "psubusw")
BINARY(pmullw, "pmullw") BINARY(pmulhw, "pmulhw") BINARY(pmulhuw, "pmulhuw") BINARY(pmaddwd, "pmaddwd")
BINARY(pmuludq, "pmuludq") BINARY(psadbw, "psadbw") BINARY(pavgb, "pavgb") BINARY(pavgw, "pavgw")
BINARY(pminub, "pminub") BINARY(pmaxub, "pmaxub") BINARY(pminsw, "pminsw") BINARY(pmaxsw, "pmaxsw")
BINARY(pcmpeqb, "pcmpeqb") BINARY(pcmpeqw, "pcmpeqw") BINARY(pcmpeqd, "pcmpeqd")
BINARY(pcmpgtb, "pcmpgtb") BINARY(pcmpgtw, "pcmpgtw") BINARY(pcmpgtd, "pcmpgtd")
BINARY(pand, "pand") BINARY(pandn, "pandn") BINARY(por, "por") BINARY(pxor, "pxor")
BINARY(packsswb, "packsswb") BINARY(packssdw, "packssdw") BINARY(packuswb, "packuswb")
BINARY(punpckhbw, "punpckhbw") BINARY(punpckhwd, "punpckhwd") BINARY(punpckhdq, "punpckhdq")
BINARY(psllw, "psllw") BINARY(pslld, "pslld") BINARY(psllq, "psllq") BINARY(psrlw, "psrlw")
BINARY(psrld, "psrld") BINARY(psrlq, "psrlq") BINARY(psraw, "psraw") BINARY(psrad, "psrad")
FROM_MEMORY(punpcklbw, "punpcklbw") FROM_MEMORY(punpcklwd, "punpcklwd") FROM_MEMORY(punpckldq, "punpckldq")
FROM_MEMORY(pmaddwd_m, "pmaddwd") FROM_MEMORY(packsswb_m, "packsswb")

typedef uint64_t (*binary)(uint64_t, uint64_t);
static const struct { const char *name; binary f; } ops[] = {
    {"paddb", paddb}, {"paddw", paddw}, {"paddd", paddd}, {"paddq", paddq}, {"psubb", psubb}, {"psubw", psubw},
    {"psubd", psubd}, {"psubq", psubq}, {"paddsb", paddsb}, {"paddsw", paddsw}, {"psubsb", psubsb},
    {"psubsw", psubsw}, {"paddusb", paddusb}, {"paddusw", paddusw}, {"psubusb", psubusb}, {"psubusw", psubusw},
    {"pmullw", pmullw}, {"pmulhw", pmulhw}, {"pmulhuw", pmulhuw}, {"pmaddwd", pmaddwd}, {"pmuludq", pmuludq},
    {"psadbw", psadbw}, {"pavgb", pavgb}, {"pavgw", pavgw}, {"pminub", pminub}, {"pmaxub", pmaxub},
    {"pminsw", pminsw}, {"pmaxsw", pmaxsw}, {"pcmpeqb", pcmpeqb}, {"pcmpeqw", pcmpeqw}, {"pcmpeqd", pcmpeqd},
    {"pcmpgtb", pcmpgtb}, {"pcmpgtw", pcmpgtw}, {"pcmpgtd", pcmpgtd}, {"pand", pand}, {"pandn", pandn},
    {"por", por}, {"pxor", pxor}, {"packsswb", packsswb}, {"packssdw", packssdw}, {"packuswb", packuswb},
    {"punpckhbw", punpckhbw}, {"punpckhwd", punpckhwd}, {"punpckhdq", punpckhdq}, {"psllw", psllw},
    {"pslld", pslld}, {"psllq", psllq}, {"psrlw", psrlw}, {"psrld", psrld}, {"psrlq", psrlq}, {"psraw", psraw},
    {"psrad", psrad}, {"punpcklbw m32", punpcklbw}, {"punpcklwd m32", punpcklwd}, {"punpckldq m32", punpckldq},
    {"pmaddwd m64", pmaddwd_m}, {"packsswb m64", packsswb_m},
};

static uint64_t checksum;

static void report(const char *name, uint64_t v) {
    checksum = checksum * 31 + v;
    printf("%-14s %016llx\n", name, (unsigned long long) v);
}

static void immediates(uint64_t a) {
    uint64_t r[8];
    uint32_t lo, mask, word;
    __asm__("movq %8, %%mm3\n\t"
            "movq %%mm3, %%mm4\n\tpsrlw $3, %%mm4\n\tmovq %%mm4, %0\n\t"
            "movq %%mm3, %%mm4\n\tpsraw $15, %%mm4\n\tmovq %%mm4, %1\n\t"
            "movq %%mm3, %%mm4\n\tpslld $17, %%mm4\n\tmovq %%mm4, %2\n\t"
            "movq %%mm3, %%mm4\n\tpsrad $31, %%mm4\n\tmovq %%mm4, %3\n\t"
            "movq %%mm3, %%mm4\n\tpsllq $63, %%mm4\n\tmovq %%mm4, %4\n\t"
            "movq %%mm3, %%mm4\n\tpsrlq $64, %%mm4\n\tmovq %%mm4, %5\n\t"
            "pshufw $0x1b, %%mm3, %%mm5\n\tmovq %%mm5, %6\n\t"
            "pshufw $0xb1, %8, %%mm5\n\tmovq %%mm5, %7"
            : "=m"(r[0]), "=m"(r[1]), "=m"(r[2]), "=m"(r[3]), "=m"(r[4]), "=m"(r[5]), "=m"(r[6]), "=m"(r[7])
            : "m"(a) : "mm3", "mm4", "mm5");
    for (int k = 0; k < 8; k++) {
        report("imm form", r[k]);
    }
    __asm__("movq %3, %%mm6\n\tmovd %%mm6, %0\n\tpmovmskb %%mm6, %1\n\tpextrw $2, %%mm6, %2"
            : "=r"(lo), "=r"(mask), "=r"(word) : "m"(a) : "mm6");
    report("movd/pmovmskb", (uint64_t) lo << 32 | mask << 16 | word);
    uint64_t inserted;
    __asm__("movq %1, %%mm7\n\tmovl $0xbeef, %%eax\n\tpinsrw $3, %%eax, %%mm7\n\tmovq %%mm7, %0"
            : "=m"(inserted) : "m"(a) : "eax", "mm7");
    report("pinsrw", inserted);
}

static void conversions(uint64_t a) {
    float singles[4] = {0};
    int32_t ints[2];
    double doubles[2];
    __asm__("movq %3, %%mm0\n\txorps %%xmm0, %%xmm0\n\tcvtpi2ps %%mm0, %%xmm0\n\tmovups %%xmm0, %0\n\t"
            "cvttps2pi %%xmm0, %%mm1\n\tmovq %%mm1, %1\n\t"
            "cvtpi2pd %%mm0, %%xmm1\n\tmovupd %%xmm1, %2"
            : "=m"(singles), "=m"(ints), "=m"(doubles) : "m"(a) : "mm0", "mm1", "xmm0", "xmm1");
    printf("%-14s %g %g %d %d %.17g %.17g\n", "conversions", singles[0], singles[1], ints[0], ints[1],
           doubles[0], doubles[1]);
    uint64_t back;
    __asm__("movq2dq %%mm0, %%xmm2\n\tpaddq %%xmm2, %%xmm2\n\tmovdq2q %%xmm2, %%mm2\n\tmovq %%mm2, %0"
            : "=m"(back) : : "xmm2", "mm2");
    report("movq2dq", back);
}

static void stores(uint64_t a, uint64_t b) {
    uint64_t masked = 0x1111111111111111ull, nontemporal = 0;
    __asm__("movq %2, %%mm0\n\tmovq %3, %%mm1\n\tmaskmovq %%mm1, %%mm0\n\tmovntq %%mm1, %1"
            : "+m"(masked), "=m"(nontemporal) : "m"(a), "m"(b), "D"(&masked) : "mm0", "mm1", "memory");
    report("maskmovq", masked);
    report("movntq", nontemporal);
}

/* FNSTENV after MMX code: every tag valid (in the stored word: special, as the exponents are all ones) and
 * TOP 0; after EMMS every tag empty. Then x87 code without EMMS overflows its stack into the indefinite. */
static void aliasing(void) {
    uint16_t env[14];
    __asm__("pxor %%mm0, %%mm0\n\tfnstenv %0" : "=m"(env) : : "mm0");
    printf("%-14s fsw %04x ftw %04x\n", "after mmx", env[2], env[4]);
    __asm__("emms\n\tfnstenv %0" : "=m"(env));
    printf("%-14s fsw %04x ftw %04x\n", "after emms", env[2], env[4]);
    long double x;
    __asm__("movq %%mm0, %%mm1\n\tfld1\n\tfstpt %0\n\temms" : "=m"(x) : : "mm1");
    printf("%-14s %Lf\n", "fld1 in mmx", x);
    x = 1.0L / 3;
    printf("%-14s %.20Lf\n", "x87 again", x);
}

int main(void) {
    for (unsigned i = 0; i < N; i++) {
        for (unsigned j = 0; j < N; j += 3) {
            for (unsigned k = 0; k < sizeof ops / sizeof ops[0]; k++) {
                uint64_t b = inputs[j];
                if (ops[k].name[1] == 's' && (ops[k].name[2] == 'l' || ops[k].name[2] == 'r')) {
                    b = (j * 7 + k) % 70; /* a shift count around the element widths */
                }
                report(ops[k].name, ops[k].f(inputs[i], b));
            }
        }
        immediates(inputs[i]);
        conversions(inputs[i]);
        stores(inputs[i], inputs[(i + 5) % N]);
    }
    __asm__("emms");
    aliasing();
    printf("checksum %016llx\n", (unsigned long long) checksum);
    return (int) (checksum & 0x3F);
}
