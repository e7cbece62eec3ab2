/*
 * curl_api.h - the libcurl functions pare calls, loaded on first use.
 *
 * Why: linking libcurl loads it and the 30-odd libraries it needs (TLS, SSH, LDAP, Kerberos,
 * IDN, HTTP/2 ...) into every pare process and runs their initialisers: 3.6 of the 6.5 ms that
 * `pare --version` took, in every command, although only the commands that talk to a server
 * (an OpenAI-compatible judge, embedder or pool) use it. So common/http.c, the one caller,
 * reaches libcurl through this table, which dlopen()s libcurl.so.4 the first time it is asked
 * for. It is the library the linker would have used (libcurl4-openssl-dev's); only the moment it
 * is loaded changes. Only the headers of libcurl are compiled against.
 */
#ifndef PARE_CURL_API_H
#define PARE_CURL_API_H

#include <curl/curl.h>

#include "common/util.h"

/* The functions, with libcurl's own signatures (the variadic ones are called as libcurl's). */
struct curl_api {
    CURLcode (*global_init)(long flags);
    const char *(*easy_strerror)(CURLcode code);
    CURL *(*easy_init)(void);
    CURLcode (*easy_setopt)(CURL *e, CURLoption option, ...);
    CURLcode (*easy_getinfo)(CURL *e, CURLINFO info, ...);
    void (*easy_cleanup)(CURL *e);
    struct curl_slist *(*slist_append)(struct curl_slist *list, const char *s);
    void (*slist_free_all)(struct curl_slist *list);
    CURLM *(*multi_init)(void);
    CURLMcode (*multi_setopt)(CURLM *m, CURLMoption option, ...);
    CURLMcode (*multi_add_handle)(CURLM *m, CURL *e);
    CURLMcode (*multi_remove_handle)(CURLM *m, CURL *e);
    CURLMcode (*multi_socket_action)(CURLM *m, curl_socket_t s, int mask, int *running);
    CURLMsg *(*multi_info_read)(CURLM *m, int *left);
    CURLMcode (*multi_cleanup)(CURLM *m);
};

/*
 * The table, with libcurl loaded and curl_global_init(CURL_GLOBAL_DEFAULT) done, once for the
 * process (thread-safe; later calls cost a pthread_once check). Returns NULL with err set (when
 * not NULL: "libcurl: ..." naming the library and what failed) when the library cannot be
 * loaded, lacks a function or does not initialise; a later call fails the same way.
 */
const struct curl_api *curl_api(struct sbuf *err);

#endif
