/*
 * fuzz.h - shared by pare's libFuzzer harnesses (tests/fuzz/fuzz_*.c).
 *
 * Each harness defines LLVMFuzzerTestOneInput. Built with clang and -fsanitize=fuzzer (the
 * PARE_FUZZ build, scripts/fuzz-ci.sh) it is a fuzzer; built with driver.c (every build) it runs
 * the inputs kept in tests/fuzz/regress/NAME and tests/fuzz/seeds/NAME once each, as a
 * regression test under ctest and the ASan build.
 */
#ifndef PARE_FUZZ_H
#define PARE_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* An invariant of the code under test: aborts (a crash libFuzzer reports) when it fails, in
 * every build type (assert would vanish under NDEBUG). */
#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);               \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/*
 * A path naming a file that holds exactly data[0..size): an anonymous in-memory file
 * (memfd) rewritten on each call, for code that reads files by name. Valid until the next call.
 */
const char *fuzz_file(const uint8_t *data, size_t size);

#endif
