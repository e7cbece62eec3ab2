/* reward.c - see reward.h. */
#include "pipeline/reward.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/text.h"

const char *const bucket_names[3] = {"easy", "medium", "hard"};

const char *const reward_scheme_names[N_SCHEMES] = {"cp1",     "cp2",  "laser",
                                                    "laser-d", "decs", "rubric"};

const struct reward_params reward_defaults = {3, 0.3, 1, 0.6, 1024, 0.5, 8192};

int reward_scheme_from_name(const char *name, enum reward_scheme *out)
{
    for (int k = 0; name && k < N_SCHEMES; k++) {
        if (strcmp(reward_scheme_names[k], name) == 0) {
            *out = (enum reward_scheme)k;
            return 0;
        }
    }
    return -1;
}

int difficulty_bucket_from_name(const char *name)
{
    for (int b = 0; name && b < 3; b++)
        if (strcmp(bucket_names[b], name) == 0) return b;
    return -1;
}

static const char *const rubric_kinds[] = {"answer", "evidence", "no_extra", "grounded"};

int reward_rubric_kind(const char *name)
{
    for (size_t k = 0; name && k < ARRAY_SIZE(rubric_kinds); k++)
        if (strcmp(rubric_kinds[k], name) == 0) return (int)k;
    return -1;
}

const char *reward_rubric_kind_name(enum rubric_kind kind)
{
    return rubric_kinds[kind];
}

/* ---- formulas ---- */

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

double laser_d_target(const double *lengths, size_t n, int bucket)
{
    static const int nb[3] = {5, 2, 1};
    if (n == 0) return 64;
    /* at least ceil(n / n_b) responses must fit: the answer is the first rung of the ladder
     * that that many lengths fit under, so counting lengths per rung finds it without sorting
     * (a run's lengths were a tenth of scoring a million trajectories when sorted) */
    size_t need = (n + (size_t)nb[bucket] - 1) / (size_t)nb[bucket], under[16] = {0};
    for (size_t i = 0; i < n; i++) {
        int k = 0; /* the first rung 64 * 2^k at or above the length; 15: above them all */
        while (k < 15 && lengths[i] > (double)(64 << k)) k++;
        under[k]++;
    }
    size_t fit = 0;
    for (int k = 0; k < 15; k++) {
        fit += under[k];
        if (fit >= need) return (double)(64 << k);
    }
    return 1048576;
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
static const size_t marker_len[] = {4, 3, 13, 3, 3, 9};
_Static_assert(ARRAY_SIZE(markers) == ARRAY_SIZE(marker_len), "a length per marker");

static int is_marker(const char *w, size_t n)
{
    /* every marker starts with a capital: most words are ruled out by their first letter */
    if (n < 3 || !strchr("WBAHLT", w[0])) return 0;
    /* the marker word itself, possibly followed by punctuation ("Wait,", "Hmm...") */
    for (size_t i = 0; i < ARRAY_SIZE(markers); i++) {
        size_t m = marker_len[i];
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

/* ---- the selection ---- */

/* The start of the last occurrence of tag in s, or NULL. */
static const char *last_tag(const char *s, const char *tag)
{
    const char *last = NULL;
    for (const char *p = strstr(s, tag); p; p = strstr(p + 1, tag)) last = p;
    return last;
}

/* Separators between ids: white space, commas, and the brackets the prompt numbers them with. */
static int is_sep(char c)
{
    return isspace((unsigned char)c) || c == ',' || c == '[' || c == ']';
}

int reward_parse_evidence(const char *response, int64_t **ids, int *n)
{
    *ids = NULL;
    *n = 0;
    const char *p = last_tag(response, "<evidence>");
    const char *end = p ? strstr(p, "</evidence>") : NULL;
    if (!end) return 0;
    p += strlen("<evidence>");
    size_t cap = 0;
    while (p < end) {
        if (is_sep(*p)) {
            p++;
            continue;
        }
        if (!isdigit((unsigned char)*p)) break;
        errno = 0;
        char *e;
        long long v = strtoll(p, &e, 10);
        if (errno || e > end || (e < end && !is_sep(*e))) break;
        xgrow((void **)ids, &cap, (size_t)*n + 1, sizeof **ids);
        (*ids)[(*n)++] = v;
        p = e;
    }
    if (p == end) {
        if (!*ids) *ids = xcalloc(1, sizeof **ids); /* an empty selection, stated */
        return 1;
    }
    free(*ids);
    *ids = NULL;
    *n = 0;
    return -1;
}

/* ---- measuring ---- */

static int has_id(const int64_t *a, size_t n, int64_t x)
{
    for (size_t i = 0; i < n; i++)
        if (a[i] == x) return 1;
    return 0;
}

double reward_rubric_points(const struct reward_truth *t, const int64_t *ids, int n, int em)
{
    double pts = 0;
    for (int r = 0; r < t->n_rubric; r++) {
        const struct reward_rubric_item *it = &t->rubric[r];
        int ok = 0;
        switch (it->kind) {
        case RUBRIC_ANSWER:
            ok = em;
            break;
        case RUBRIC_EVIDENCE:
            ok = has_id(ids, (size_t)n, it->pid);
            break;
        case RUBRIC_NO_EXTRA: /* every selected passage is allowed */
            ok = 1;
            for (int i = 0; i < n; i++) ok &= has_id(it->ids, it->n_ids, ids[i]);
            break;
        case RUBRIC_GROUNDED: /* correct, and some answer passage selected */
            for (int i = 0; i < n; i++) ok |= has_id(it->ids, it->n_ids, ids[i]);
            ok &= em;
            break;
        }
        if (ok) pts += it->points;
    }
    return pts;
}

/* DECS prefix fraction of the reasoning: the response before its first answer tag. */
static double prefix_fraction(const char *response, const char *norm_gold)
{
    const char *tag = strstr(response, "<answer>");
    char *reasoning = tag ? xstrndup(response, (size_t)(tag - response)) : xstrdup(response);
    double f = decs_prefix_fraction(reasoning, norm_gold);
    free(reasoning);
    return f;
}

/* A stated selection of distinct candidates. */
static int selection_valid(const struct reward_truth *t, const struct reward_input *in)
{
    if (!in->stated) return 0;
    for (int i = 0; i < in->n; i++)
        if (!has_id(t->cand, (size_t)t->nc, in->ids[i]) || has_id(in->ids, (size_t)i, in->ids[i]))
            return 0;
    return 1;
}

void reward_measure(const struct reward_truth *t, const struct reward_input *in,
                    struct reward_item *out)
{
    memset(out, 0, sizeof *out);
    const char *answer = in->answer;
    int valid = answer != NULL && *answer && selection_valid(t, in);
    int em = valid && t->golds ? text_em_any(answer, t->golds) : 0;
    out->f.valid = valid;
    out->f.correct = em;
    out->f.f1 = answer && t->golds ? text_f1_any(answer, t->golds) : 0;
    out->em = em;
    out->f.n_selected = in->n;
    out->f.n_minimal = t->nm;
    for (int i = 0; i < in->n; i++) /* a member listed twice is covered once */
        out->f.n_overlap +=
            has_id(t->mem, (size_t)t->nm, in->ids[i]) && !has_id(in->ids, (size_t)i, in->ids[i]);
    out->f.length = in->length;
    out->f.prefix = prefix_fraction(in->response, t->norm_gold);
    out->has_rubric = t->n_rubric > 0;
    out->rubric = reward_rubric_points(t, in->ids, in->n, em);
}

/* ---- values and components ---- */

/* Writes the decimal digits of v at w (at most 20 bytes); returns the end. The components of
 * every reward pass through here, and printf's machinery costs more than the rest of the
 * formatting. */
static char *put_int(char *w, long long v)
{
    char buf[24], *p = buf + sizeof buf;
    unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
    do *--p = (char)('0' + u % 10);
    while (u /= 10);
    if (v < 0) *--p = '-';
    size_t n = (size_t)(buf + sizeof buf - p);
    memcpy(w, p, n);
    return w + n;
}

/* A real number as jansson writes one: %.17g, with ".0" when it would read as an integer and
 * the exponent without '+' or leading zeros, into buf (40 bytes). Returns its length. */
static size_t format_real(char *buf, double v)
{
    int n = snprintf(buf, 40, "%.17g", v);
    char *e = strchr(buf, 'e');
    if (!e && !strchr(buf, '.') && n > 0 && (size_t)n + 2 < 40) strcat(buf, ".0");
    if (e) { /* e+05 -> e5, e-05 -> e-5 */
        char *d = e + 1, *s = e + 1;
        if (*s == '+')
            s++;
        else if (*s == '-')
            *d++ = *s++;
        while (*s == '0' && s[1]) s++;
        memmove(d, s, strlen(s) + 1);
    }
    return strlen(buf);
}

/* The texts of the last reals formatted on this thread, by the bits of the number: scores
 * repeat (F1 of 2/3, coverage of 1/2, ...), and printf's %.17g cost more than the rest of a
 * trajectory's components. Per thread, so the functions stay safe to call from several. */
struct real_memo {
    uint64_t bits;
    unsigned char len; /* 0: empty */
    char text[40];
};
static _Thread_local struct real_memo real_memo[64];

/* Writes a real number at w as jansson writes one (format_real; at most 39 bytes); returns the
 * end. Whole numbers take a shorter path. */
static char *put_real(char *w, double v)
{
    if (v == floor(v) && fabs(v) < 1e15) {
        w = put_int(w, (long long)v);
        memcpy(w, ".0", 2);
        return w + 2;
    }
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    struct real_memo *m = &real_memo[(bits ^ bits >> 29 ^ bits >> 47) & 63];
    if (!m->len || m->bits != bits) {
        m->len = (unsigned char)format_real(m->text, v);
        m->bits = bits;
    }
    memcpy(w, m->text, m->len);
    return w + m->len;
}

int reward_value(enum reward_scheme scheme, const struct reward_item *it,
                 const struct reward_params *p, double laser_d_target, double *value,
                 struct sbuf *params)
{
    int cp1 = scheme == SCHEME_CP1;
    double target = scheme == SCHEME_LASER ? p->target_len : laser_d_target;
    switch (scheme) {
    case SCHEME_CP1:
    case SCHEME_CP2:
        *value = reward_cp(&it->f, (int)(cp1 ? p->red1 : p->red2), cp1 ? p->gamma1 : p->gamma2);
        if (params)
            sbuf_addf(params, ",\"red\":%g,\"gamma\":%g", cp1 ? p->red1 : p->red2,
                      cp1 ? p->gamma1 : p->gamma2);
        return 0;
    case SCHEME_LASER:
    case SCHEME_LASER_D:
        *value = reward_laser(&it->f, target, p->alpha);
        if (params) sbuf_addf(params, ",\"target_len\":%g", target);
        return 0;
    case SCHEME_DECS:
        *value = reward_decs(&it->f, p->max_len);
        if (params) sbuf_addf(params, ",\"max_len\":%g", p->max_len);
        return 0;
    case SCHEME_RUBRIC:
    case N_SCHEMES:
        break;
    }
    if (!it->has_rubric) return -1; /* no rubric for this question: no reward */
    *value = it->rubric / 10.0;
    return 0;
}

/* Writes the literal s (a string constant) at w and moves w past it. */
#define PUT(w, s) (memcpy((w), (s), sizeof(s) - 1), (w) += sizeof(s) - 1)

/* The most the components take: the members' names and punctuation (under 200 bytes), seven
 * reals of at most 39 bytes, four integers of at most 20, the booleans and the bucket. */
#define COMPONENTS_MAX 1024

void reward_components(const struct reward_item *it, int bucket, struct sbuf *out)
{
    const struct traj_facts *f = &it->f;
    /* written in place with the members' names as constants: through sbuf calls per name and
     * value this cost as much as measuring the trajectory */
    sbuf_grow(out, COMPONENTS_MAX);
    char *w = out->p + out->len, *start = w;
    PUT(w, "{\"valid\":");
    w = f->valid ? (PUT(w, "true"), w) : (PUT(w, "false"), w);
    PUT(w, ",\"correct\":");
    w = f->correct ? (PUT(w, "true"), w) : (PUT(w, "false"), w);
    PUT(w, ",\"em\":");
    w = put_real(w, it->em);
    PUT(w, ",\"f1\":");
    w = put_real(w, f->f1);
    PUT(w, ",\"selected\":");
    w = put_int(w, f->n_selected);
    PUT(w, ",\"minimal\":");
    w = put_int(w, f->n_minimal);
    PUT(w, ",\"overlap\":");
    w = put_int(w, f->n_overlap);
    PUT(w, ",\"coverage\":");
    w = put_real(w, f->n_minimal ? (double)f->n_overlap / f->n_minimal : 0.0);
    PUT(w, ",\"precision\":");
    w = put_real(w, f->n_selected ? (double)f->n_overlap / f->n_selected : 0.0);
    PUT(w, ",\"length\":");
    w = put_real(w, f->length);
    PUT(w, ",\"prefix_fraction\":");
    w = put_real(w, f->prefix);
    PUT(w, ",\"redundancy\":");
    w = put_int(w, (long long)f->n_selected - f->n_minimal);
    if (bucket >= 0 && bucket < 3) {
        PUT(w, ",\"bucket\":\"");
        size_t n = strlen(bucket_names[bucket]);
        memcpy(w, bucket_names[bucket], n);
        w += n;
        *w++ = '"';
    }
    if (it->has_rubric) {
        PUT(w, ",\"rubric\":");
        w = put_real(w, it->rubric);
    }
    out->len += (size_t)(w - start);
    out->p[out->len] = '\0';
}
