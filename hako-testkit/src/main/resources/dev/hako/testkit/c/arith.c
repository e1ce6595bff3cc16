/* Integer arithmetic: every width, signedness, division and remainder, shifts, 64x64->128 products (where the
 * target has __int128: not in a 32-bit build, whose 64-bit operations are register pairs and libgcc calls). */
#include <inttypes.h>
#include <stdio.h>
#include <stdint.h>
#include <limits.h>

static uint64_t state = 0x9E3779B97F4A7C15ull;
static uint64_t next(void) {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
}

int main(void) {
    uint64_t check = 0;
    for (int i = 0; i < 2000; i++) {
        uint64_t a = next(), b = next() | 1;
        int64_t sa = (int64_t) a, sb = (int64_t) b;
        uint32_t a32 = (uint32_t) a, b32 = (uint32_t) b | 1;
        int32_t sa32 = (int32_t) a32, sb32 = (int32_t) b32;
        uint16_t a16 = (uint16_t) a, b16 = (uint16_t) b | 1;
        int8_t a8 = (int8_t) a, b8 = (int8_t) (b | 1);
        check = check * 31 + a / b + a % b;
        if (!(sa == INT64_MIN && sb == -1)) check = check * 31 + (uint64_t) (sa / sb) + (uint64_t) (sa % sb);
        check = check * 31 + a32 / b32 + a32 % b32;
        if (!(sa32 == INT32_MIN && sb32 == -1)) check = check * 31 + (uint32_t) (sa32 / sb32) + (uint32_t) (sa32 % sb32);
        check = check * 31 + (uint16_t) (a16 / b16) + (int8_t) (a8 / b8) + (int8_t) (a8 % b8);
        check = check * 31 + (a << (b & 63)) + (a >> (b & 63)) + (uint64_t) (sa >> (b & 63));
        check = check * 31 + (a32 << (b & 31)) + (uint32_t) (sa32 >> (b & 31));
        check = check * 31 + a * b + (uint64_t) (sa32 * (int64_t) sb32) + (uint32_t) (a32 * b32);
#ifdef __SIZEOF_INT128__
        unsigned __int128 p = (unsigned __int128) a * b;
        __int128 sp = (__int128) sa * sb;
        check = check * 31 + (uint64_t) (p >> 64) + (uint64_t) p + (uint64_t) (sp >> 64);
        unsigned __int128 big = ((unsigned __int128) a << 64) | b;
        check = check * 31 + (uint64_t) (big / (b >> 3 | 1)) + (uint64_t) (big % (a | 1));
        __int128 sbig = (__int128) big;
        check = check * 31 + (uint64_t) (sbig / (sa | 1)) + (uint64_t) (sbig % (sb >> 5 | 1));
        uint64_t high = (uint64_t) (p >> 64), signedHigh = (uint64_t) (sp >> 64);
#else
        uint64_t high = 0, signedHigh = 0;
#endif
        check = check * 31 + (uint64_t) __builtin_popcountll(a) + (uint64_t) __builtin_clzll(b)
                + (uint64_t) __builtin_ctzll(b) + __builtin_bswap64(a) + __builtin_bswap32(a32);
        check = check * 31 + (a > b) + (sa > sb) * 2 + (a32 < b32) * 4 + (sa32 <= sb32) * 8;
        check = check * 31 + (uint64_t) (a32 > b32 ? a32 - b32 : b32 - a32);
        if (i < 4) {
            printf("%" PRIu64 " %" PRId64 " %u %d %u %d %" PRIx64 " %" PRIx64 "\n", a / b, sb == -1 ? 0 : sa / sb,
                   a32 / b32, sb32 == -1 ? 0 : sa32 / sb32, a16 % b16, a8 * b8, high, signedHigh);
        }
    }
    printf("%lld %llu %d %u %ld\n", LLONG_MIN, ULLONG_MAX, INT_MIN, UINT_MAX, -1L);
    printf("check %016" PRIx64 "\n", check);
    return (int) (check & 0x3F);
}
