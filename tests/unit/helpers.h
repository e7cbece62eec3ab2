/* helpers.h - small fixtures shared by the unit tests. */
#ifndef PARE_TEST_HELPERS_H
#define PARE_TEST_HELPERS_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

/* A fresh file path in $TMPDIR (or /tmp) unique to this process; caller frees. */
static inline char *tmp_path(const char *name)
{
    const char *dir = getenv("TMPDIR");
    size_t n = strlen(dir ? dir : "/tmp") + strlen(name) + 32;
    char *p = malloc(n);
    assert_non_null(p);
    snprintf(p, n, "%s/pare-%ld-%s", dir ? dir : "/tmp", (long)getpid(), name);
    return p;
}

/* Writes n bytes to a new temporary file; returns its path (caller frees and removes). */
static inline char *tmp_file(const char *name, const void *data, size_t n)
{
    char *p = tmp_path(name);
    FILE *f = fopen(p, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
    return p;
}

/* Removes the database at p with its -wal and -shm files (those that exist). */
static inline void rm_db(const char *p)
{
    char side[4096];
    remove(p);
    snprintf(side, sizeof side, "%s-wal", p);
    remove(side);
    snprintf(side, sizeof side, "%s-shm", p);
    remove(side);
}

#define assert_contains(hay, needle)                                                               \
    do {                                                                                           \
        if (!strstr((hay), (needle)))                                                              \
            fail_msg("expected \"%s\" to contain \"%s\"", (hay), (needle));                        \
    } while (0)

#endif
