/* curl_api.c - see curl_api.h. */
#define _GNU_SOURCE
#include "common/curl_api.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

/* The soname of libcurl's ABI 4, the one <curl/curl.h> describes. */
#define CURL_LIB "libcurl.so.4"

static struct curl_api api;
static char why[512]; /* empty: loaded and initialised */
static pthread_once_t once = PTHREAD_ONCE_INIT;

/* The slots are filled with the bytes of a data pointer: they must be as wide as one. */
_Static_assert(sizeof(void (*)(void)) == sizeof(void *), "function and data pointers differ");

/* Where each function of the table goes, by libcurl's name for it. */
static const struct {
    const char *name;
    size_t offset;
} slots[] = {
    {"curl_global_init", offsetof(struct curl_api, global_init)},
    {"curl_easy_strerror", offsetof(struct curl_api, easy_strerror)},
    {"curl_easy_init", offsetof(struct curl_api, easy_init)},
    {"curl_easy_setopt", offsetof(struct curl_api, easy_setopt)},
    {"curl_easy_getinfo", offsetof(struct curl_api, easy_getinfo)},
    {"curl_easy_cleanup", offsetof(struct curl_api, easy_cleanup)},
    {"curl_slist_append", offsetof(struct curl_api, slist_append)},
    {"curl_slist_free_all", offsetof(struct curl_api, slist_free_all)},
    {"curl_multi_init", offsetof(struct curl_api, multi_init)},
    {"curl_multi_setopt", offsetof(struct curl_api, multi_setopt)},
    {"curl_multi_add_handle", offsetof(struct curl_api, multi_add_handle)},
    {"curl_multi_remove_handle", offsetof(struct curl_api, multi_remove_handle)},
    {"curl_multi_socket_action", offsetof(struct curl_api, multi_socket_action)},
    {"curl_multi_info_read", offsetof(struct curl_api, multi_info_read)},
    {"curl_multi_cleanup", offsetof(struct curl_api, multi_cleanup)},
};

/* Loads the library and fills the table; on failure, says why in `why`. The library stays
 * loaded for the life of the process (libcurl is not meant to be unloaded after
 * curl_global_init). */
static void load(void)
{
    void *h = dlopen(CURL_LIB, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        snprintf(why, sizeof why, "libcurl: cannot load %s: %s", CURL_LIB, dlerror());
        return;
    }
    for (size_t i = 0; i < sizeof slots / sizeof *slots; i++) {
        void *sym = dlsym(h, slots[i].name);
        if (!sym) {
            snprintf(why, sizeof why, "libcurl: %s has no %s", CURL_LIB, slots[i].name);
            return;
        }
        /* a function's address as dlsym gives it: ISO C has no cast from void * to a
         * function pointer, so its bytes are copied into the slot, a function pointer */
        memcpy((char *)&api + slots[i].offset, &sym, sizeof sym);
    }
    CURLcode rc = api.global_init(CURL_GLOBAL_DEFAULT);
    if (rc != CURLE_OK)
        snprintf(why, sizeof why, "libcurl: cannot initialise: %s", api.easy_strerror(rc));
}

const struct curl_api *curl_api(struct sbuf *err)
{
    pthread_once(&once, load);
    if (why[0]) {
        if (err) sbuf_setf(err, "%s", why);
        return NULL;
    }
    return &api;
}
