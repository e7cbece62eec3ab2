/* endpoint.c - see endpoint.h. */
#include "common/endpoint.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The command line's --endpoint values (see endpoint_flag_add). */
static const char **g_flags;
static size_t g_n_flags, g_cap_flags;

void endpoint_flags_reset(void)
{
    free(g_flags);
    g_flags = NULL;
    g_n_flags = g_cap_flags = 0;
}

void endpoint_flag_add(const char *value)
{
    xgrow((void **)&g_flags, &g_cap_flags, g_n_flags + 1, sizeof *g_flags);
    g_flags[g_n_flags++] = value;
}

static int is_blank(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r';
}

void endpoint_list_free(struct endpoint_list *l)
{
    for (int i = 0; i < l->n; i++) free(l->url[i]);
    free(l->url);
    l->url = NULL;
    l->n = 0;
}

/* Appends one entry (the bytes [s, e) of a comma list) to the list after normalising it. */
static int add_one(struct endpoint_list *l, size_t *cap, const char *s, const char *e,
                   const char *from, struct sbuf *err)
{
    while (s < e && is_blank(*s)) s++;
    while (e > s && (is_blank(e[-1]) || e[-1] == '/')) e--;
    if (s == e) {
        sbuf_setf(err, "%s: an empty endpoint (a stray comma?)", from);
        return PARE_EUSAGE;
    }
    char *url = xstrndup(s, (size_t)(e - s));
    if (strncasecmp(url, "http://", 7) != 0 && strncasecmp(url, "https://", 8) != 0) {
        char *shown = endpoint_display(url);
        sbuf_setf(err, "%s: '%.200s' is not an http:// or https:// URL", from, shown);
        free(shown);
        free(url);
        return PARE_EUSAGE;
    }
    for (int i = 0; i < l->n; i++) {
        if (strcmp(l->url[i], url) == 0) {
            char *shown = endpoint_display(url);
            sbuf_setf(err, "%s: endpoint %.200s is listed twice", from, shown);
            free(shown);
            free(url);
            return PARE_EUSAGE;
        }
    }
    if (l->n >= ENDPOINT_MAX) {
        sbuf_setf(err, "%s: more than %d endpoints", from, ENDPOINT_MAX);
        free(url);
        return PARE_EUSAGE;
    }
    xgrow((void **)&l->url, cap, (size_t)l->n + 1, sizeof *l->url);
    l->url[l->n++] = url;
    return PARE_OK;
}

/* Adds every entry of a comma-separated list. */
static int add_list(struct endpoint_list *l, size_t *cap, const char *text, const char *from,
                    struct sbuf *err)
{
    const char *s = text;
    for (;;) {
        const char *comma = strchr(s, ',');
        const char *e = comma ? comma : s + strlen(s);
        int rc = add_one(l, cap, s, e, from, err);
        if (rc != PARE_OK) return rc;
        if (!comma) return PARE_OK;
        s = comma + 1;
    }
}

int endpoint_resolve(const struct endpoint_cfg *c, struct endpoint_list *out, struct sbuf *err)
{
    out->url = NULL;
    out->n = 0;
    size_t cap = 0;
    int rc = PARE_OK;
    if (c->n_flags > 0) {
        for (int i = 0; i < c->n_flags && rc == PARE_OK; i++)
            rc = add_list(out, &cap, c->flags[i], "--endpoint", err);
    } else {
        const char *env = getenv("OPENAI_BASE_URL");
        /* an empty or blank variable is unset, as openai-python treats it */
        const char *p = env;
        while (p && is_blank(*p)) p++;
        if (p && *p)
            rc = add_list(out, &cap, env, "OPENAI_BASE_URL", err);
        else {
            const char *url = ENDPOINT_DEFAULT_URL;
            rc = add_one(out, &cap, url, url + strlen(url), "default", err);
        }
    }
    if (rc != PARE_OK) endpoint_list_free(out);
    return rc;
}

int endpoint_cfg_load(struct endpoint_cfg *c, const char *const *flags, int n_flags,
                      struct sbuf *err)
{
    c->flags = flags ? flags : g_flags;
    c->n_flags = flags ? n_flags : (int)g_n_flags;
    c->api_key = getenv("OPENAI_API_KEY");
    if (c->api_key && !*c->api_key) c->api_key = NULL;
    struct endpoint_list l;
    int rc = endpoint_resolve(c, &l, err);
    if (rc != PARE_OK) return rc;
    int hosted = l.n == 1 && strcmp(l.url[0], ENDPOINT_DEFAULT_URL) == 0;
    endpoint_list_free(&l);
    if (hosted && !c->api_key) {
        sbuf_setf(err, "OPENAI_API_KEY is not set, and the default endpoint " ENDPOINT_DEFAULT_URL
                       " needs one; for a server of your own set OPENAI_BASE_URL (or "
                       "--endpoint) to its API root, e.g. http://host:8000/v1");
        return PARE_EUSAGE;
    }
    return PARE_OK;
}

char *endpoint_display(const char *url)
{
    const char *scheme = strstr(url, "://");
    if (!scheme) return xstrdup(url);
    const char *host = scheme + 3;
    size_t auth_len = strcspn(host, "/?#"); /* the authority part */
    const char *at = memchr(host, '@', auth_len);
    if (!at) return xstrdup(url);
    /* keep the last '@' of the authority: a password may contain '@' */
    for (const char *p = at; p < host + auth_len; p++)
        if (*p == '@') at = p;
    struct sbuf b = {0};
    sbuf_add(&b, url, (size_t)(host - url));
    sbuf_adds(&b, at + 1);
    return sbuf_detach(&b);
}

int endpoint_pool_size(void)
{
    struct endpoint_cfg c = {g_flags, (int)g_n_flags, NULL};
    struct endpoint_list l;
    struct sbuf err = {0};
    int n = endpoint_resolve(&c, &l, &err) == PARE_OK ? l.n : 1;
    endpoint_list_free(&l);
    sbuf_free(&err);
    return n;
}
