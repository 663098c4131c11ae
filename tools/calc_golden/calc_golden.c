/* Golden-data generator for lib/ioc/calc: runs EPICS base's own postfix() and calcPerform()
 * (libCom) on every line of stdin and prints one JSON object per line.
 *
 * Input line:  EXPRESSION <TAB> A B C ... L (space separated, optional) <TAB> VAL (optional)
 * Build outside the repository against an EPICS base build, e.g.:
 *   gcc -O2 -o /tmp/calc_golden calc_golden.c -I$EPICS_BASE/include \
 *     -I$EPICS_BASE/include/os/Linux -I$EPICS_BASE/include/compiler/gcc \
 *     -L$EPICS_BASE/lib/linux-x86_64 -Wl,-rpath,$EPICS_BASE/lib/linux-x86_64 -lCom
 * This file is ours (epics-ts); it only calls libCom's public API. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include "postfix.h"

static void put_string(const char *s) {
    putchar('"');
    for (; *s; s++) {
        unsigned char c = (unsigned char) *s;
        if (c == '"' || c == '\\') printf("\\%c", c);
        else if (c < 0x20) printf("\\u%04x", c);
        else putchar(c);
    }
    putchar('"');
}

static void put_number(double v) {
    if (isnan(v)) printf("\"NaN\"");
    else if (isinf(v)) printf(v > 0 ? "\"Infinity\"" : "\"-Infinity\"");
    else if (v == 0 && signbit(v)) printf("\"-0\"");
    else printf("\"%.17g\"", v);
}

int main(void) {
    static char line[8192];
    while (fgets(line, sizeof line, stdin)) {
        size_t n = strlen(line);
        if (n && line[n - 1] == '\n') line[--n] = 0;
        if (n == 0 || line[0] == '\n') continue;
        char *expr = line;
        char *argtext = strchr(line, '\t');
        char *valtext = NULL;
        if (argtext) {
            *argtext++ = 0;
            valtext = strchr(argtext, '\t');
            if (valtext) *valtext++ = 0;
        }
        double args[CALCPERFORM_NARGS] = {0};
        if (argtext) {
            char *p = argtext;
            for (int i = 0; i < CALCPERFORM_NARGS; i++) {
                char *end;
                double v = strtod(p, &end);
                if (end == p) break;
                args[i] = v;
                p = end;
            }
        }
        double val = valtext ? strtod(valtext, NULL) : 0;
        double in_val = val;
        char postfix_buf[INFIX_TO_POSTFIX_SIZE(8192)];
        short err = 0;
        printf("{\"expr\":");
        put_string(expr);
        printf(",\"args\":[");
        for (int i = 0; i < CALCPERFORM_NARGS; i++) {
            if (i) putchar(',');
            put_number(args[i]);
        }
        printf("],\"val\":");
        put_number(in_val);
        long status = postfix(expr, postfix_buf, &err);
        if (status) {
            printf(",\"error\":%d,\"reason\":", err);
            put_string(calcErrorStr(err));
            printf("}\n");
            continue;
        }
        unsigned long inputs = 0, stores = 0;
        calcArgUsage(postfix_buf, &inputs, &stores);
        status = calcPerform(args, &val, postfix_buf);
        printf(",\"status\":%ld,\"result\":", status);
        put_number(status ? in_val : val);
        printf(",\"argsOut\":[");
        for (int i = 0; i < CALCPERFORM_NARGS; i++) {
            if (i) putchar(',');
            put_number(args[i]);
        }
        printf("],\"inputs\":%lu,\"stores\":%lu}\n", inputs, stores);
    }
    return 0;
}
