/*
 * Sample-type facts from C: evident_dtype_name (the file format's names),
 * evident_dtype_byte_len (packed bits, overflow, unknown numbers), and that
 * evident_dtype_from_name reads the names back.
 *
 * Usage: dtype WORKDIR   (unused)
 * Prints "all checks passed" and exits 0, or names the failed check and
 * exits 1.
 */
#include "evident.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: dtype WORKDIR\n");
        return 2;
    }
    free(join(argv[1], "unused")); /* check.h's helper; no file is written */
    static const char *names[] = {"f64", "f32", "i8",  "i16", "i32",  "i64",
                                  "u8",  "u16", "u32", "u64", "bool", "bit"};
    for (uint32_t d = EVIDENT_DTYPE_F64; d <= EVIDENT_DTYPE_BIT; d++) {
        CHECK_STR(evident_dtype_name(d), names[d - 1]);
        uint32_t back = 0;
        OK(evident_dtype_from_name(evident_dtype_name(d), &back));
        CHECK(back == d);
    }
    CHECK(evident_dtype_name(0) == NULL);
    CHECK(evident_dtype_name(13) == NULL);

    uint64_t n = 99;
    CHECK(evident_dtype_byte_len(EVIDENT_DTYPE_BIT, 0, &n) && n == 0);
    CHECK(evident_dtype_byte_len(EVIDENT_DTYPE_BIT, 9, &n) && n == 2);
    CHECK(evident_dtype_byte_len(EVIDENT_DTYPE_I16, 5, &n) && n == 10);
    CHECK(evident_dtype_byte_len(EVIDENT_DTYPE_BOOL, 3, NULL));
    CHECK(!evident_dtype_byte_len(EVIDENT_DTYPE_U64, UINT64_MAX / 4, &n) && n == 0);
    CHECK(!evident_dtype_byte_len(0, 1, &n) && n == 0);

    /* The measurements by their enum names (declared in the header). */
    double wave[1000];
    for (int i = 0; i < 1000; i++) {
        wave[i] = (i % 100) < 50 ? 1.0 : -1.0; /* 10 Hz square wave at 1 kHz */
    }
    double f = 0;
    OK(evident_measure_samples(wave, 1000, 1000.0, EVIDENT_MEASURE_FREQUENCY, &f));
    CHECK(f > 9.9 && f < 10.1);
    double duty = 0;
    OK(evident_measure_samples(wave, 1000, 1000.0, EVIDENT_MEASURE_DUTY_CYCLE, &duty));
    CHECK(duty > 49.0 && duty < 51.0);
    uint32_t m = 0;
    OK(evident_measure_from_name("thd", &m));
    CHECK(m == EVIDENT_MEASURE_THD);
    printf("all checks passed\n");
    return 0;
}
