/*
 * trajectory_fast.c - a line's fields from its cJSON tree (trajectory_impl.h).
 *
 * Parsing a line into jansson values (common/jsonfast.h: cJSON, then a conversion) and freeing
 * them was two fifths of the work every thread does per trajectory; reading the few fields a line
 * has from the cJSON tree itself costs a fraction of that. The tree holds numbers as doubles, so
 * this path takes only lines whose every number is an integer literal of at most 15 digits (exact
 * in a double, and an integer to jansson as well), and only lines pare's own way of naming the
 * question (a "question_id") that traj_parse_line and traj_selection would accept as they are.
 * Every other line (a real number anywhere, a trainer's ground truth, a field of the wrong type,
 * anything not valid JSON) takes the jansson path, which gives the same fields and the messages.
 */
#include <cjson/cJSON.h>
#include <string.h>
#include <xxhash.h>

#include "pipeline/trajectory_impl.h"

/* Digits of a number this path takes: below 2^53, so a double holds it exactly. */
#define EXACT_DIGITS 15

/* Where the string whose opening quote is before raw[i] ends (after its closing quote). */
static size_t skip_string(const char *raw, size_t i, size_t len)
{
    for (;;) {
        const char *q = memchr(raw + i, '"', len - i);
        if (!q) return len;
        size_t at = (size_t)(q - raw), bs = 0;
        while (at - bs > i && raw[at - bs - 1] == '\\') bs++;
        i = at + 1;
        if (bs % 2 == 0) return i; /* not escaped */
    }
}

int traj_numbers_exact(const char *raw, size_t len)
{
    size_t i = 0;
    while (i < len) {
        char c = raw[i];
        if (c == '"') {
            i = skip_string(raw, i + 1, len);
            continue;
        }
        if (c != '-' && (c < '0' || c > '9')) {
            i++;
            continue;
        }
        int digits = 0;
        for (; i < len; i++) {
            c = raw[i];
            if (c >= '0' && c <= '9')
                digits++;
            else if (c == '.' || c == 'e' || c == 'E' || c == '+')
                return 0;
            else if (c != '-')
                break;
        }
        if (digits > EXACT_DIGITS) return 0;
    }
    return 1;
}

/* The members of a line this path reads (NULL: absent). */
struct line_members {
    const cJSON *question_id, *trajectory_id, *response, *output, *selected, *answer, *n_tokens,
        *step, *policy, *score;
};

/* Finds them in one pass over the object's members (which jsonfast_tree leaves unrepeated):
 * a lookup of each by name walked the members ten times. */
static void find_members(const cJSON *rec, struct line_members *m)
{
    memset(m, 0, sizeof *m);
    for (const cJSON *v = rec->child; v; v = v->next) {
        const char *k = v->string;
        const cJSON **slot = NULL;
        switch (k[0]) {
        case 'q':
            slot = strcmp(k, "question_id") == 0 ? &m->question_id : NULL;
            break;
        case 't':
            slot = strcmp(k, "trajectory_id") == 0 ? &m->trajectory_id : NULL;
            break;
        case 'r':
            slot = strcmp(k, "response") == 0 ? &m->response : NULL;
            break;
        case 'o':
            slot = strcmp(k, "output") == 0 ? &m->output : NULL;
            break;
        case 'a':
            slot = strcmp(k, "answer") == 0 ? &m->answer : NULL;
            break;
        case 'n':
            slot = strcmp(k, "n_tokens") == 0 ? &m->n_tokens : NULL;
            break;
        case 'p':
            slot = strcmp(k, "policy") == 0 ? &m->policy : NULL;
            break;
        case 's':
            slot = strcmp(k, "selected") == 0 ? &m->selected
                   : strcmp(k, "step") == 0   ? &m->step
                   : strcmp(k, "score") == 0  ? &m->score
                                              : NULL;
            break;
        }
        if (slot) *slot = v;
    }
}

/* An id member (a string or an integer) as text into out. Returns 0, or -1 when v is neither. */
static int tree_id_text(const cJSON *v, struct sbuf *out)
{
    if (cJSON_IsString(v))
        sbuf_adds(out, v->valuestring);
    else if (cJSON_IsNumber(v))
        sbuf_addf(out, "%lld", (long long)v->valuedouble);
    else
        return -1;
    return 0;
}

/* Absent or null. */
static int absent(const cJSON *v)
{
    return !v || cJSON_IsNull(v);
}

/* The ids of the line: question_id and trajectory_id (else the hash of the line). */
static int tree_ids(const struct line_members *m, const char *raw, size_t raw_len,
                    struct traj_line *out)
{
    const cJSON *tid = m->trajectory_id;
    if (tree_id_text(m->question_id, &out->question) != 0) return -1;
    if (!absent(tid) && tree_id_text(tid, &out->ext) != 0) return -1;
    if (!out->ext.len) {
        sbuf_addf(&out->ext, "h%016llx", (unsigned long long)XXH3_64bits(raw, raw_len));
        out->default_ext = 1;
    }
    return 0;
}

/* The typed fields, when each is as traj_parse_line accepts it. */
static int tree_fields(const struct line_members *m, struct traj_line *out)
{
    const cJSON *resp = m->response ? m->response : m->output;
    const cJSON *ans = m->answer, *ntok = m->n_tokens, *step = m->step, *policy = m->policy;
    const cJSON *score = m->score;
    if (!cJSON_IsString(resp) || !(absent(ans) || cJSON_IsString(ans)) ||
        !(absent(policy) || cJSON_IsString(policy)) || !(absent(step) || cJSON_IsNumber(step)))
        return -1;
    if (!absent(ntok) &&
        (!cJSON_IsNumber(ntok) || ntok->valuedouble < 0 || ntok->valuedouble > 10000000))
        return -1;
    out->response = resp->valuestring;
    out->answer = cJSON_IsString(ans) ? ans->valuestring : NULL;
    out->policy = cJSON_IsString(policy) ? policy->valuestring : NULL;
    out->has_step = cJSON_IsNumber(step);
    out->step = out->has_step ? (int64_t)step->valuedouble : 0;
    out->has_n_tokens = cJSON_IsNumber(ntok);
    out->n_tokens = out->has_n_tokens ? (int64_t)ntok->valuedouble : 0;
    out->has_score = cJSON_IsNumber(score);
    out->score = out->has_score ? score->valuedouble : 0;
    return 0;
}

/* The selection: "selected" (integers only), else the response's evidence tag. */
static int tree_selection(const struct line_members *m, const struct traj_line *l, int64_t **ids,
                          int *n, int *stated)
{
    const cJSON *sel = m->selected;
    if (absent(sel)) {
        struct sbuf none = {0};
        int rc = traj_selection(l, ids, n, stated, &none); /* no "selected": never an error */
        sbuf_free(&none);
        return rc == PARE_OK ? 0 : -1;
    }
    if (!cJSON_IsArray(sel)) return -1;
    int ns = cJSON_GetArraySize(sel), i = 0;
    int64_t *out = xcalloc((size_t)ns + 1, sizeof *out);
    for (const cJSON *v = sel->child; v; v = v->next) {
        if (!cJSON_IsNumber(v)) {
            free(out);
            return -1;
        }
        out[i++] = (int64_t)v->valuedouble;
    }
    *ids = out;
    *n = ns;
    *stated = 1;
    return 0;
}

int traj_tree_line(const cJSON *rec, const char *raw, size_t raw_len, struct traj_line *out,
                   int64_t **ids, int *n, int *stated)
{
    memset(out, 0, sizeof *out);
    *ids = NULL;
    *n = *stated = 0;
    if (!cJSON_IsObject(rec)) return -1;
    struct line_members m;
    find_members(rec, &m);
    if (tree_ids(&m, raw, raw_len, out) != 0 || tree_fields(&m, out) != 0 ||
        tree_selection(&m, out, ids, n, stated) != 0) {
        traj_line_free(out);
        memset(out, 0, sizeof *out);
        return -1;
    }
    return 0;
}
