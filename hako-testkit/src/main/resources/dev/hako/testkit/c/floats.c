/* Floating point: arithmetic, conversions, printf of floats and doubles, libm functions. */
#include <stdio.h>
#include <stdlib.h>
#include <math.h>

int main(void) {
    volatile double x = 1.0 / 3.0, y = 2.718281828459045;
    volatile float f = 1.1f, g = 3.3f;
    printf("%.17g %.17g %.9g %.9g\n", x, y, (double) f, (double) g);
    printf("%f %e %g %a\n", x * y, x / y, y - x, x + y);
    printf("%.3f %10.4f %-10.2e| %g\n", (double) (f * g), (double) (f / g), (double) (f + g), (double) (f - g));
    double sum = 0;
    for (int i = 1; i <= 1000; i++) {
        sum += 1.0 / ((double) i * i);
    }
    printf("basel %.15f\n", sum);
    printf("sqrt %.17g sin %.17g cos %.17g tan %.17g\n", sqrt(2.0), sin(1.0), cos(1.0), tan(0.5));
    printf("exp %.17g log %.17g pow %.17g atan2 %.17g\n", exp(1.5), log(10.0), pow(2.5, 3.7), atan2(1.0, -2.0));
    printf("floor %g ceil %g round %g trunc %g fmod %g\n", floor(-2.5), ceil(-2.5), round(2.5), trunc(-2.7),
           fmod(10.5, 3.0));
    printf("sinf %.9g expf %.9g logf %.9g\n", (double) sinf(0.7f), (double) expf(1.3f), (double) logf(7.0f));
    printf("int %d %ld %u conv %g %g\n", (int) -3.99, (long) 1e15, (unsigned) 3e9, (double) (long) -7, (double) 123456789012LL);
    printf("strtod %.17g %.17g\n", strtod("3.14159265358979323846", NULL), strtod("-1e-300", NULL));
    printf("inf %f nan %f -0 %f\n", 1.0 / 0.0 * (x > 0), sqrt(-1.0 * (x > 0)), -0.0);
    printf("hypot %.17g cbrt %.17g\n", hypot(3.0, 4.0), cbrt(27.0));
    return 0;
}
