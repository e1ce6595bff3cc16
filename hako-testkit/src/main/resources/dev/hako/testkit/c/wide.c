/* Wide: 64-bit integer arithmetic a 32-bit build carries out in register pairs and libgcc calls (__divdi3,
 * __udivdi3, __moddi3, __umoddi3), long long <-> double conversions, and printf of both. Inputs come from a
 * generator the compiler cannot fold. */
#include <inttypes.h>
#include <stdio.h>

static uint64_t state = 0x9E3779B97F4A7C15ULL;

static uint64_t next(void) {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
}

int main(void) {
    uint64_t check = 0;
    for (int i = 0; i < 2000; i++) {
        uint64_t a = next(), b = next() >> (i % 60);
        int64_t sa = (int64_t) a, sb = (int64_t) (b | 1) * (i & 1 ? -1 : 1);
        check = check * 31 + a / (b | 1) + a % (b | 1) + (uint64_t) (sa / sb) + (uint64_t) (sa % sb);
        check ^= (a * b) + (a >> (i % 64)) + (uint64_t) (sa >> (i % 64)) + (b << (i % 64));
        double d = (double) sa / 3.0;
        check += (uint64_t) (int64_t) d + (uint64_t) (double) (a >> 11);
    }
    printf("check %016" PRIx64 "\n", check);
    long long n = -9223372036854775807LL - 1;
    unsigned long long u = 18446744073709551615ULL;
    printf("%lld %llu %lld %llu %llx\n", n / 7, u / 10, n % 1000, u % 1000, u / 3);
    printf("%.17g %.17g %lld\n", (double) n, (double) u, (long long) -1e18);
    for (long long v = 1; v < 4000000000000000000LL; v *= 37) {
        printf("%lld/13=%lld r%lld ", v, v / 13, v % 13);
    }
    printf("\n");
    return 0;
}
