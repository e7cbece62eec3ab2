/* negatives.c - see negatives.h. */
#define _POSIX_C_SOURCE 200809L
#include "pipeline/negatives.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "common/text.h"

/* ---- answers of the same kind ---- */

static int has_month(const char *s)
{
    static const char *const months[] = {"january",   "february", "march",    "april",
                                         "may",       "june",     "july",     "august",
                                         "september", "october",  "november", "december"};
    for (size_t i = 0; i < ARRAY_SIZE(months); i++)
        if (strstr(s, months[i])) return 1;
    return 0;
}

enum answer_kind answer_kind(const char *a)
{
    struct sbuf n = {0};
    text_squad_normalize(a ? a : "", &n);
    const char *s = sbuf_str(&n);
    int digits = 0, alpha = 0, year = 0, run = 0;
    for (const char *p = s; *p; p++) {
        if (isdigit((unsigned char)*p)) {
            digits++;
            run++;
            continue;
        }
        if (run == 4) year = 1;
        run = 0;
        if (isalpha((unsigned char)*p)) alpha++;
    }
    if (run == 4) year = 1;
    enum answer_kind k = AK_ENTITY;
    if (strcmp(s, "yes") == 0 || strcmp(s, "no") == 0)
        k = AK_YESNO;
    else if (has_month(s) || (year && alpha && digits))
        k = AK_DATE;
    else if (digits && alpha <= 8)
        k = AK_NUMBER; /* "10.5 million", "1,430", "12th" */
    sbuf_free(&n);
    return k;
}

void answer_pool_add(struct answer_pool *p, int64_t qid, int64_t dataset, const char *answer)
{
    xgrow((void **)&p->a, &p->cap, p->n + 1, sizeof *p->a);
    struct pooled_answer *x = &p->a[p->n++];
    x->text = xstrdup(answer);
    x->kind = answer_kind(answer);
    x->dataset = dataset;
    x->qid = qid;
}

void answer_pool_free(struct answer_pool *p)
{
    for (size_t i = 0; i < p->n; i++) free(p->a[i].text);
    free(p->a);
    memset(p, 0, sizeof *p);
}

const char *answer_pool_wrong(const struct answer_pool *p, int64_t qid, int64_t dataset,
                              json_t *golds)
{
    enum answer_kind k = answer_kind(json_string_value(json_array_get(golds, 0)));
    size_t n = p->n;
    if (!n) return NULL;
    size_t start = (size_t)(XXH3_64bits(&qid, sizeof qid) % n);
    for (size_t step = 0; step < n; step++) {
        const struct pooled_answer *x = &p->a[(start + step) % n];
        if (x->qid == qid || x->dataset != dataset || x->kind != k) continue;
        if (text_em_any(x->text, golds)) continue; /* never a gold answer or alias */
        return x->text;
    }
    return NULL;
}

/* ---- rubrics ---- */

static void item(struct rubric_item *it, int no, const char *kind, char *crit, double points,
                 int64_t pid, json_t *expected)
{
    it->item_no = no;
    it->kind = kind;
    it->criterion = crit;
    it->points = points;
    it->passage_id = pid;
    it->expected = expected;
}

/* 1 when passage text states one of the gold answers (after normalisation). */
static int states_answer(const struct jpassage *p, json_t *golds, struct sbuf *norm)
{
    struct sbuf na = {0};
    size_t k;
    json_t *g;
    int states = 0;
    text_squad_normalize(p->text, norm);
    json_array_foreach(golds, k, g)
    {
        text_squad_normalize(json_string_value(g), &na);
        if (text_contains_answer(sbuf_str(norm), sbuf_str(&na))) states = 1;
    }
    sbuf_free(&na);
    return states;
}

int rubric_build(const struct jquestion *q, uint64_t m, struct rubric_item *items)
{
    struct sbuf crit = {0}, norm = {0};
    int size = __builtin_popcountll(m), n = 0;
    char *alist = json_dumps(q->answers, JSON_COMPACT);
    sbuf_setf(&crit, "The final answer matches a gold answer or alias: %s", alist ? alist : "");
    free(alist);
    item(&items[n++], 1, "answer", sbuf_detach(&crit), 4.0, 0,
         json_pack("{s:O}", "answers", q->answers));
    json_t *allowed = json_array(), *grounding = json_array();
    for (int i = 0; i < q->n; i++) {
        if (!(m >> i & 1)) continue;
        int64_t id = q->p[i].id;
        json_array_append_new(allowed, json_integer(id));
        sbuf_setf(&crit, "The reasoning uses passage %lld (\"%s\")", (long long)id, q->p[i].title);
        item(&items[n], n + 1, "evidence", sbuf_detach(&crit), 4.0 / size, id,
             json_pack("{s:I}", "passage_id", (json_int_t)id));
        n++;
        /* passages of M that state an answer ground it */
        if (states_answer(&q->p[i], q->answers, &norm))
            json_array_append_new(grounding, json_integer(id));
    }
    if (json_array_size(grounding) == 0) json_array_extend(grounding, allowed); /* yes/no */
    item(&items[n], n + 1, "no_extra", xstrdup("No passage beyond the evidence set is cited"), 1.0,
         0, json_pack("{s:o}", "allowed", allowed));
    n++;
    item(&items[n], n + 1, "grounded",
         xstrdup("The answer is stated in a cited passage, not reached by a miracle step"), 1.0, 0,
         json_pack("{s:o}", "answer_passages", grounding));
    n++;
    sbuf_free(&norm);
    return n;
}

void rubric_free(struct rubric_item *items, int n)
{
    for (int i = 0; i < n; i++) {
        free(items[i].criterion);
        json_decref(items[i].expected);
    }
}

/* ---- negatives ---- */

static const char *const kind_names[NEG_KINDS] = {"drop_one", "add_distractor", "distractors_only",
                                                  "wrong_answer", "ungrounded"};

const char *negative_kind_name(enum negative_kind k)
{
    return (unsigned)k < NEG_KINDS ? kind_names[k] : "unknown";
}

static void add(struct negative *out, int *n, enum negative_kind kind, uint64_t mask,
                const char *answer, const char *label, int verified)
{
    struct negative *x = &out[(*n)++];
    x->kind = kind;
    x->mask = mask;
    x->answer = answer;
    x->label = label;
    x->verified = verified;
}

/* drop_one: labels from the verdicts mining cached; no judge call. */
static int drop_one(const struct jquestion *q, uint64_t m, negative_verdict_fn verdict, void *ctx,
                    struct negative *out, int *n)
{
    if (__builtin_popcountll(m) < 2) return PARE_OK;
    for (int i = 0; i < q->n; i++) {
        if (!(m >> i & 1)) continue;
        uint64_t sub = m & ~(1ULL << i);
        int v = JUDGE_ERROR;
        if (verdict(ctx, sub, 0, &v) != PARE_OK) return PARE_EFAIL;
        add(out, n, NEG_DROP_ONE, sub, NULL, "insufficient", v == JUDGE_INSUFFICIENT);
    }
    return PARE_OK;
}

/* add_distractor and distractors_only: the best-ranked non-members, judged. */
static int distractors(const struct jquestion *q, uint64_t m, const char *gold0,
                       negative_verdict_fn verdict, void *ctx, struct negative *out, int *n)
{
    uint64_t others = 0;
    int want = __builtin_popcountll(m);
    for (int i = 0; i < q->n && want > 0; i++)
        if (!(m >> i & 1)) {
            others |= 1ULL << i;
            want--;
        }
    if (!others) return PARE_OK;
    uint64_t best = others & -others;
    int v = JUDGE_ERROR;
    if (verdict(ctx, m | best, 1, &v) != PARE_OK) return PARE_EFAIL;
    if (v != JUDGE_ERROR)
        add(out, n, NEG_ADD_DISTRACTOR, m | best, gold0,
            v == JUDGE_SUFFICIENT ? "sufficient_redundant" : "insufficient", 1);
    if (verdict(ctx, others, 1, &v) != PARE_OK) return PARE_EFAIL;
    if (v != JUDGE_ERROR)
        add(out, n, NEG_DISTRACTORS_ONLY, others, NULL,
            v == JUDGE_SUFFICIENT ? "sufficient" : "insufficient", 1);
    return PARE_OK;
}

int negatives_build(const struct jquestion *q, uint64_t m, const char *wrong,
                    negative_verdict_fn verdict, void *ctx, struct negative *out, int *n)
{
    const char *gold0 = json_string_value(json_array_get(q->answers, 0));
    *n = 0;
    if (drop_one(q, m, verdict, ctx, out, n) != PARE_OK ||
        distractors(q, m, gold0, verdict, ctx, out, n) != PARE_OK)
        return PARE_EFAIL;
    if (wrong) add(out, n, NEG_WRONG_ANSWER, m, wrong, "wrong_answer", 1);
    add(out, n, NEG_UNGROUNDED, 0, gold0, "miracle_step", 1);
    return PARE_OK;
}

/* ---- storing ---- */

int rubric_store(struct store *st, int64_t qid, const struct rubric_item *items, int n,
                 struct sbuf *err)
{
    sqlite3_stmt *s = store_stmt(st, "DELETE FROM rubric_items WHERE question_id = ?1");
    if (!s || sqlite3_bind_int64(s, 1, qid) || store_done(st, s))
        return store_fail(st, err, "replacing earlier augmentation");
    for (int i = 0; i < n; i++) {
        const struct rubric_item *it = &items[i];
        char *exp = json_dumps(it->expected, JSON_COMPACT);
        s = store_stmt(st, "INSERT INTO rubric_items(question_id, item_no, kind, criterion, "
                           "points, passage_id, expected) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
        int bad =
            !exp || !s || sqlite3_bind_int64(s, 1, qid) || sqlite3_bind_int(s, 2, it->item_no) ||
            sqlite3_bind_text(s, 3, it->kind, -1, SQLITE_STATIC) ||
            sqlite3_bind_text(s, 4, it->criterion, -1, SQLITE_STATIC) ||
            sqlite3_bind_double(s, 5, it->points) ||
            (it->passage_id ? sqlite3_bind_int64(s, 6, it->passage_id) : sqlite3_bind_null(s, 6)) ||
            sqlite3_bind_text(s, 7, exp, -1, SQLITE_TRANSIENT) || store_done(st, s);
        free(exp);
        if (bad) return store_fail(st, err, "storing a rubric item");
    }
    return PARE_OK;
}

/* The passage ids of subset `mask` of q's candidates as a JSON array (owned), or NULL. */
static char *mask_json(const struct jquestion *q, uint64_t mask)
{
    json_t *ps = json_array();
    for (int i = 0; ps && i < q->n; i++)
        if (mask >> i & 1) json_array_append_new(ps, json_integer(q->p[i].id));
    char *text = ps ? json_dumps(ps, JSON_COMPACT) : NULL;
    json_decref(ps);
    return text;
}

/* A negative stored by an earlier run. */
struct stored {
    int64_t id;
    char *kind, *passages, *answer; /* answer may be NULL */
    int kept;
};

/* The negatives stored for question qid, in id order. */
static int load_stored(struct store *st, int64_t qid, struct stored **out, size_t *n,
                       struct sbuf *err)
{
    sqlite3_stmt *s = store_stmt(st, "SELECT id, kind, passages, answer FROM negatives WHERE "
                                     "question_id = ?1 ORDER BY id");
    if (!s || sqlite3_bind_int64(s, 1, qid)) return store_fail(st, err, "reading negatives");
    size_t cap = 0;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        xgrow((void **)out, &cap, *n + 1, sizeof **out);
        struct stored *x = &(*out)[(*n)++];
        const char *ans = (const char *)sqlite3_column_text(s, 3);
        x->id = sqlite3_column_int64(s, 0);
        x->kind = xstrdup((const char *)sqlite3_column_text(s, 1));
        x->passages = xstrdup((const char *)sqlite3_column_text(s, 2));
        x->answer = ans ? xstrdup(ans) : NULL;
        x->kept = 0;
    }
    sqlite3_reset(s);
    return rc == SQLITE_DONE ? PARE_OK : store_fail(st, err, "reading negatives");
}

static void free_stored(struct stored *a, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(a[i].kind);
        free(a[i].passages);
        free(a[i].answer);
    }
    free(a);
}

/* The first stored negative not kept yet that is the same negative (kind, passages, answer). */
static struct stored *same_stored(struct stored *a, size_t n, const char *kind, const char *ps,
                                  const char *answer)
{
    for (size_t i = 0; i < n; i++) {
        struct stored *x = &a[i];
        if (x->kept || strcmp(x->kind, kind) != 0 || strcmp(x->passages, ps) != 0) continue;
        if ((x->answer == NULL) != (answer == NULL)) continue;
        if (answer && strcmp(x->answer, answer) != 0) continue;
        return x;
    }
    return NULL;
}

/* Writes negative x with passages ps: over stored row `old` (keeping its id), or as a new row. */
static int put_negative(struct store *st, int64_t qid, int64_t set_id, const struct negative *x,
                        const char *ps, const struct stored *old, struct sbuf *err)
{
    sqlite3_stmt *s =
        old ? store_stmt(st, "UPDATE negatives SET label = ?5, verified = ?6, source_set_id = ?7 "
                             "WHERE id = ?8 AND question_id = ?1 AND kind = ?2 AND passages = ?3 "
                             "AND answer IS ?4")
            : store_stmt(st, "INSERT INTO negatives(question_id, kind, passages, answer, label, "
                             "verified, source_set_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
    int bad = !s || sqlite3_bind_int64(s, 1, qid) ||
              sqlite3_bind_text(s, 2, negative_kind_name(x->kind), -1, SQLITE_STATIC) ||
              sqlite3_bind_text(s, 3, ps, -1, SQLITE_STATIC) ||
              sqlite3_bind_text(s, 4, x->answer, -1, SQLITE_STATIC) ||
              sqlite3_bind_text(s, 5, x->label, -1, SQLITE_STATIC) ||
              sqlite3_bind_int(s, 6, x->verified) || sqlite3_bind_int64(s, 7, set_id) ||
              (old && sqlite3_bind_int64(s, 8, old->id)) || store_done(st, s);
    return bad ? store_fail(st, err, "storing a negative") : PARE_OK;
}

/* Deletes the stored negatives no new negative kept. */
static int drop_unkept(struct store *st, const struct stored *a, size_t n, struct sbuf *err)
{
    for (size_t i = 0; i < n; i++) {
        if (a[i].kept) continue;
        sqlite3_stmt *s = store_stmt(st, "DELETE FROM negatives WHERE id = ?1");
        if (!s || sqlite3_bind_int64(s, 1, a[i].id) || store_done(st, s))
            return store_fail(st, err, "replacing earlier negatives");
    }
    return PARE_OK;
}

/* A negative that an earlier run stored too (same question, kind, passages and answer) keeps
 * its row and id, so that ids exported and referred to elsewhere stay valid across reruns. */
int negatives_store(struct store *st, int64_t qid, int64_t set_id, const struct jquestion *q,
                    const struct negative *negs, int n, struct sbuf *err)
{
    struct stored *old = NULL;
    size_t n_old = 0;
    int rc = load_stored(st, qid, &old, &n_old, err);
    for (int i = 0; i < n && rc == PARE_OK; i++) {
        char *ps = mask_json(q, negs[i].mask);
        struct stored *x =
            ps ? same_stored(old, n_old, negative_kind_name(negs[i].kind), ps, negs[i].answer)
               : NULL;
        rc = ps ? put_negative(st, qid, set_id, &negs[i], ps, x, err) : PARE_EFAIL;
        if (!ps) sbuf_setf(err, "out of memory building a negative");
        if (x) x->kept = 1;
        free(ps);
    }
    if (rc == PARE_OK) rc = drop_unkept(st, old, n_old, err);
    free_stored(old, n_old);
    return rc;
}
