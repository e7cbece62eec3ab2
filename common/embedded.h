/*
 * embedded.h - files compiled into the binary at build time (cmake/embed.cmake): the schema
 * migrations and the prompt templates of schemas/.
 */
#ifndef PARE_EMBEDDED_H
#define PARE_EMBEDDED_H

#include <stddef.h>

struct pare_embedded {
    const char *name; /* file name, e.g. "001_init.sql" */
    const char *data; /* contents, NUL-terminated */
    size_t len;       /* length without the terminating NUL */
};

/* Sorted by name. */
extern const struct pare_embedded pare_embedded_files[];
extern const size_t pare_embedded_count;

/* The embedded file of that name, or NULL. */
const struct pare_embedded *pare_embedded_find(const char *name);

#endif
