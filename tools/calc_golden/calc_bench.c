/* Reference timing for tools/bench/calc.ts: compiles each expression given on the command
 * line with EPICS base's postfix() and runs calcPerform() N times, printing
 * "<expression>\t<nanoseconds per evaluation>". Ours (epics-ts); build as calc_golden.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "postfix.h"

int main(int argc, char **argv) {
    long n = atol(argv[1]);
    for (int k = 2; k < argc; k++) {
        char rpn[INFIX_TO_POSTFIX_SIZE(1024)];
        short err;
        if (postfix(argv[k], rpn, &err)) { printf("%s\terror\n", argv[k]); continue; }
        double args[CALCPERFORM_NARGS] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
        double val = 0, sum = 0;
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        for (long i = 0; i < n; i++) {
            args[0] = (double) i;
            calcPerform(args, &val, rpn);
            sum += val;
        }
        clock_gettime(CLOCK_MONOTONIC, &t1);
        double ns = ((t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec)) / n;
        printf("%s\t%.1f\t%g\n", argv[k], ns, sum);
    }
    return 0;
}
