/* reward.c - see reward.h. */
#include "pipeline/reward.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/text.h"
#include "common/util.h"

const char *const bucket_names[3] = {"easy", "medium", "hard"};

double reward_cp(const struct traj_facts *f, int red, double gamma)
{
    if (!f->valid) return -1.0;
    if (f->n_minimal <= 0) return 0.0; /* no evidence set to cover */
    if (f->n_selected > f->n_minimal + red) return 0.0;
    double cov = (double)f->n_overlap / f->n_minimal;
    int extra = f->n_selected - f->n_minimal;
    return cov - gamma * (extra > 0 ? extra : 0) / (double)(f->n_minimal + red);
}

double reward_laser(const struct traj_facts *f, double target_len, double alpha)
{
    if (!f->valid) return -1.0;
    if (!f->correct) return -0.5;
    return 1.0 + (f->length <= target_len ? alpha : 0.0);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

double laser_d_target(const double *lengths, size_t n, int bucket)
{
    static const int nb[3] = {5, 2, 1};
    if (n == 0) return 64;
    double *s = xmalloc(sizeof *s * n);
    memcpy(s, lengths, sizeof *s * n);
    qsort(s, n, sizeof *s, cmp_double);
    /* at least ceil(n / n_b) responses must fit */
    size_t need = (n + (size_t)nb[bucket] - 1) / (size_t)nb[bucket];
    double at = s[need - 1];
    free(s);
    double l = 64;
    while (l < at && l < 1048576) l *= 2;
    return l;
}

double reward_decs(const struct traj_facts *f, double max_len)
{
    if (!f->valid) return -1.0;
    if (!f->correct) return 0.0;
    const double rp = 1.1, r0 = 1.0;
    double len = f->length > max_len ? max_len : f->length;
    double after = r0 - (rp - r0) * len / max_len;
    return f->prefix * rp + (1.0 - f->prefix) * after;
}

static const char *const markers[] = {"Wait", "But", "Alternatively", "Hmm", "Let", "Therefore"};

static int is_marker(const char *w, size_t n)
{
    /* the marker word itself, possibly followed by punctuation ("Wait,", "Hmm...") */
    for (size_t i = 0; i < ARRAY_SIZE(markers); i++) {
        size_t m = strlen(markers[i]);
        if (n >= m && strncmp(w, markers[i], m) == 0) {
            size_t k = m;
            while (k < n && ispunct((unsigned char)w[k])) k++;
            if (k == n) return 1;
        }
    }
    return 0;
}

double decs_prefix_fraction(const char *reasoning, const char *norm_answer)
{
    int64_t total = whitespace_tokens(reasoning);
    if (total == 0 || !norm_answer || !*norm_answer) return 1.0;
    struct sbuf chunk = {0}, norm = {0};
    int64_t seen = 0, chunk_tokens = 0;
    double frac = 1.0;
    const char *p = reasoning;
    for (;;) {
        while (*p && isspace((unsigned char)*p)) p++;
        const char *w = p;
        while (*p && !isspace((unsigned char)*p)) p++;
        size_t n = (size_t)(p - w);
        int end = n == 0;
        if (end || (is_marker(w, n) && chunk_tokens > 0)) { /* a chunk ends before the marker */
            seen += chunk_tokens;
            text_squad_normalize(sbuf_str(&chunk), &norm);
            if (text_contains_answer(norm.p, norm_answer)) {
                frac = (double)seen / (double)total;
                break;
            }
            sbuf_reset(&chunk);
            chunk_tokens = 0;
        }
        if (end) break;
        sbuf_add(&chunk, w, n);
        sbuf_addc(&chunk, ' ');
        chunk_tokens++;
    }
    sbuf_free(&chunk);
    sbuf_free(&norm);
    return frac;
}

char *extract_answer(const char *response)
{
    const char *last = NULL;
    for (const char *p = strstr(response, "<answer>"); p; p = strstr(p + 1, "<answer>")) last = p;
    if (!last) return NULL;
    last += 8;
    const char *end = strstr(last, "</answer>");
    if (!end) return NULL;
    while (last < end && isspace((unsigned char)*last)) last++;
    while (end > last && isspace((unsigned char)end[-1])) end--;
    return xstrndup(last, (size_t)(end - last));
}

int64_t whitespace_tokens(const char *s)
{
    int64_t n = 0;
    int in = 0;
    for (; *s; s++) {
        int sp = isspace((unsigned char)*s);
        if (!sp && !in) n++;
        in = !sp;
    }
    return n;
}

int difficulty_bucket(double pass_rate)
{
    if (pass_rate >= 2.0 / 3.0 - 1e-12) return 0;
    if (pass_rate >= 1.0 / 3.0 - 1e-12) return 1;
    return 2;
}
