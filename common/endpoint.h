/*
 * endpoint.h - where OpenAI-compatible requests go: the one place that reads --endpoint,
 * OPENAI_BASE_URL and OPENAI_API_KEY, for the openai embedder and the openai judge alike.
 *
 * A pool is a list of API roots (each including /v1, as openai-python's base_url does). It is
 * taken from the --endpoint values when any is given (each a URL or a comma-separated list),
 * else from $OPENAI_BASE_URL (a URL or a comma-separated list), else it is the single default
 * https://api.openai.com/v1, as openai-python defaults. Every URL is normalised: blanks around
 * it and trailing slashes are removed, so ".../v1/" asks ".../v1/chat/completions". Only
 * http:// and https:// are accepted, and a URL listed twice is refused (it would not add a
 * server, only skew the least-in-flight count).
 *
 * The key ($OPENAI_API_KEY) is the same for every endpoint of a pool. It is never copied into a
 * message; URLs are shown without any user:password@ part (endpoint_display).
 */
#ifndef PARE_ENDPOINT_H
#define PARE_ENDPOINT_H

#include "common/util.h"

#define ENDPOINT_DEFAULT_URL "https://api.openai.com/v1"

/* At most this many endpoints in a pool (a bound on untrusted configuration, not a need). */
#define ENDPOINT_MAX 256

/*
 * The --endpoint values of the command line. The option parser (jobs/cli.c, OPT_ENDPOINT) adds
 * them here as it meets them, as the environment holds OPENAI_BASE_URL: the judge and the
 * embedder read both through endpoint_cfg_load without each command passing them down. Values
 * are not copied (they live in argv). Reset drops them (each command's parse starts afresh).
 */
void endpoint_flags_reset(void);
void endpoint_flag_add(const char *value);

/* The number of endpoints the current configuration resolves to (1 when it does not resolve). */
int endpoint_pool_size(void);

/* The configuration as given. Nothing here is owned: it points into argv and the environment. */
struct endpoint_cfg {
    const char *const *flags; /* --endpoint values (NULL when none) */
    int n_flags;
    const char *api_key; /* $OPENAI_API_KEY, or NULL */
};

/* A resolved pool: n normalised API roots (owned; free with endpoint_list_free). */
struct endpoint_list {
    char **url;
    int n;
};

/*
 * Fills c from the --endpoint values (flags; when NULL, those given to endpoint_flag_add) and the
 * environment,
 * and checks that the pool resolves and that a key is set when the pool is the default hosted
 * API (which cannot work without one). Returns PARE_OK, or PARE_EUSAGE with a message in err
 * naming the variable or option to fix.
 */
int endpoint_cfg_load(struct endpoint_cfg *c, const char *const *flags, int n_flags,
                      struct sbuf *err);

/*
 * Resolves c into a list of API roots (see the top of this file). Returns PARE_OK, or
 * PARE_EUSAGE with err set (an empty entry, a scheme other than http/https, a duplicate, too many
 * endpoints). On failure *out is empty.
 */
int endpoint_resolve(const struct endpoint_cfg *c, struct endpoint_list *out, struct sbuf *err);

/* Frees the list's URLs and leaves it empty. */
void endpoint_list_free(struct endpoint_list *l);

/* The URL for messages and reports: without a user:password@ part. Caller frees. */
char *endpoint_display(const char *url);

#endif
