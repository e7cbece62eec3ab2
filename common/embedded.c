/* embedded.c - lookup in the files compiled into the binary (see embedded.h). */
#include "common/embedded.h"

#include <string.h>

const struct pare_embedded *pare_embedded_find(const char *name)
{
    for (size_t i = 0; i < pare_embedded_count; i++)
        if (strcmp(pare_embedded_files[i].name, name) == 0) return &pare_embedded_files[i];
    return NULL;
}
