/* Loops gcc vectorizes with packed SSE2 at -O3, libm on their results, and a long double accumulation on
 * the x87: the output is compared bit for bit with the native run. */
#include <math.h>
#include <stdio.h>

static double a[120][120], b[120][120], c[120][120];
static float f[4096];

int main(void) {
    for (int i = 0; i < 120; i++) {
        for (int j = 0; j < 120; j++) {
            a[i][j] = sin(i * 0.1 + j);
            b[i][j] = cos(i - j * 0.3);
        }
    }
    for (int i = 0; i < 120; i++) {
        for (int k = 0; k < 120; k++) {
            double r = a[i][k];
            for (int j = 0; j < 120; j++) {
                c[i][j] += r * b[k][j];
            }
        }
    }
    double sum = 0;
    long double wide = 0;
    for (int i = 0; i < 120; i++) {
        for (int j = 0; j < 120; j++) {
            sum += c[i][j] * (i + 1);
            wide += c[i][j] / (j + 1.0L);
        }
    }
    for (int i = 0; i < 4096; i++) {
        f[i] = sqrtf((float) i) * 0.5f + (float) (i & 7);
    }
    float fsum = 0;
    int positive = 0;
    for (int i = 0; i < 4096; i++) {
        fsum += f[i];
        positive += f[i] > 3.0f;
    }
    printf("%.17g %.21Lg %.9g %d %.17g %.17g %.17g\n", sum, wide, fsum, positive, exp(sum / 1e7), log1p(fabs(sum)),
           atan2(sum, (double) wide));
    return 0;
}
