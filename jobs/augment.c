/*
 * augment.c - `pare augment`: rubrics and negatives from the mined minimal sets.
 *
 * For a question with minimal set M (ranked candidates C, gold answers A):
 *   rubric, 10 points in the style of the Rubric Reward Model, as criteria text and as
 *   machine-checkable items: the final answer matches A (4); each passage of M is used (4,
 *   shared); no passage beyond M is cited (1); the answer is stated in a cited passage rather
 *   than reached by a miracle step (1).
 *   negatives (DESIGN.md):
 *     drop_one          M minus one member: insufficient, verified by the mining verdicts
 *                       already in judge_calls (no judge call is made);
 *     add_distractor    M plus the best-ranked non-member: sufficient but redundant (judged);
 *     distractors_only  the |M| best-ranked non-members (judged, through the cache);
 *     wrong_answer      M with an answer of the same kind (yes/no, number, date, entity) taken
 *                       from another question of the dataset, never a gold answer or alias;
 *     ungrounded        the right answer with no cited evidence: a miracle step.
 * A question's rubric and negatives are replaced as a whole, so a rerun adds nothing twice.
 */
#define _POSIX_C_SOURCE 200809L
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "jobs/jobs.h"
#include "jobs/job.h"
#include "pipeline/judge.h"
#include "common/text.h"
#include "stores/store.h"

enum akind { AK_YESNO, AK_NUMBER, AK_DATE, AK_ENTITY };

/* The kind of an answer: yes/no, a date (a month name or a 4-digit year with words), a number,
 * or an entity. */
static enum akind answer_kind(const char *a)
{
    struct sbuf n = {0};
    text_squad_normalize(a, &n);
    enum akind k = AK_ENTITY;
    static const char *const months[] = {"january",   "february", "march",    "april",
                                         "may",       "june",     "july",     "august",
                                         "september", "october",  "november", "december"};
    int digits = 0, alpha = 0, year = 0, run = 0;
    for (const char *p = n.p; *p; p++) {
        if (isdigit((unsigned char)*p)) {
            digits++;
            run++;
        } else {
            if (run == 4) year = 1;
            run = 0;
            if (isalpha((unsigned char)*p)) alpha++;
        }
    }
    if (run == 4) year = 1;
    if (strcmp(n.p, "yes") == 0 || strcmp(n.p, "no") == 0)
        k = AK_YESNO;
    else {
        int month = 0;
        for (size_t i = 0; i < ARRAY_SIZE(months); i++)
            if (strstr(n.p, months[i])) month = 1;
        if (month || (year && alpha && digits))
            k = AK_DATE;
        else if (digits && alpha <= 8)
            k = AK_NUMBER; /* "10.5 million", "1,430", "12th" */
    }
    sbuf_free(&n);
    return k;
}

struct answer_pool {
    char **text;
    enum akind *kind;
    int64_t *dataset, *qid;
    size_t n;
};

struct aug {
    struct store *st;
    struct job job;
    struct judge *judge;
    const char *fp;
    const char *method;
    struct blob_codec *codec;
    struct answer_pool pool;
    int64_t rubrics, by_kind[5], calls, cached;
    struct sbuf err;
};

static int load_pool(struct aug *a)
{
    sqlite3_stmt *s = store_stmt(a->st, "SELECT id, dataset_id, json_extract(answers, '$[0]') "
                                        "FROM questions ORDER BY id");
    if (!s) return store_fail(a->st, &a->err, "reading answers");
    size_t cap = 0, cap2 = 0, cap3 = 0, cap4 = 0;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        const char *t = (const char *)sqlite3_column_text(s, 2);
        if (!t) continue;
        size_t i = a->pool.n;
        xgrow((void **)&a->pool.text, &cap, i + 1, sizeof *a->pool.text);
        xgrow((void **)&a->pool.kind, &cap2, i + 1, sizeof *a->pool.kind);
        xgrow((void **)&a->pool.dataset, &cap3, i + 1, sizeof *a->pool.dataset);
        xgrow((void **)&a->pool.qid, &cap4, i + 1, sizeof *a->pool.qid);
        a->pool.text[i] = xstrdup(t);
        a->pool.kind[i] = answer_kind(t);
        a->pool.qid[i] = sqlite3_column_int64(s, 0);
        a->pool.dataset[i] = sqlite3_column_int64(s, 1);
        a->pool.n++;
    }
    sqlite3_reset(s);
    return rc == SQLITE_DONE ? PARE_OK : store_fail(a->st, &a->err, "reading answers");
}

/* An answer of the same kind from another question of the dataset that matches none of
 * `golds` after normalisation, chosen by a hash of the question id (deterministic). */
static const char *wrong_answer(struct aug *a, int64_t qid, int64_t dataset, json_t *golds)
{
    enum akind k = answer_kind(json_string_value(json_array_get(golds, 0)));
    size_t n = a->pool.n;
    if (!n) return NULL;
    size_t start = (size_t)(XXH3_64bits(&qid, sizeof qid) % n);
    for (size_t step = 0; step < n; step++) {
        size_t i = (start + step) % n;
        if (a->pool.qid[i] == qid || a->pool.dataset[i] != dataset || a->pool.kind[i] != k)
            continue;
        if (text_em_any(a->pool.text[i], golds)) continue; /* never a gold answer or alias */
        return a->pool.text[i];
    }
    return NULL;
}

/* A verdict through the cache (judge_calls), asking the judge when it has none. */
static int verdict(struct aug *a, struct jquestion *q, uint64_t mask, int *out)
{
    int64_t ids[JUDGE_MAX_CANDIDATES];
    int n = 0;
    for (int i = 0; i < q->n; i++)
        if (mask >> i & 1) ids[n++] = q->p[i].id;
    unsigned char key[16];
    judge_key(a->fp, q->id, ids, n, key);
    sqlite3_stmt *s = store_stmt(a->st, "SELECT verdict FROM judge_calls WHERE key = ?1 AND "
                                        "verdict IS NOT NULL");
    int64_t v;
    int found =
        s && !sqlite3_bind_blob(s, 1, key, 16, SQLITE_STATIC) ? store_int(a->st, s, &v) : -1;
    if (found < 0) return store_fail(a->st, &a->err, "reading judge_calls");
    if (found) {
        a->cached++;
        *out = (int)v;
        return PARE_OK;
    }
    judge_submit(a->judge, q, mask, q);
    struct jdone *d = NULL;
    while (!d) d = judge_poll(a->judge, 1.0);
    a->calls++;
    json_t *sub = json_array();
    for (int i = 0; i < n; i++) json_array_append_new(sub, json_integer(ids[i]));
    char *subs = json_dumps(sub, JSON_COMPACT);
    json_decref(sub);
    char ts[24];
    now_iso8601(ts);
    s = store_stmt(a->st, "INSERT INTO judge_calls(key, judge, question_id, subset, verdict, "
                          "answer, error, latency_ms, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, "
                          "?7, ?8, ?9) ON CONFLICT(key) DO UPDATE SET verdict = excluded.verdict, "
                          "error = excluded.error, answer = excluded.answer");
    int rc = PARE_OK;
    if (!subs || !s || sqlite3_bind_blob(s, 1, key, 16, SQLITE_STATIC) ||
        sqlite3_bind_text(s, 2, a->fp, -1, SQLITE_STATIC) || sqlite3_bind_int64(s, 3, q->id) ||
        sqlite3_bind_text(s, 4, subs, -1, SQLITE_TRANSIENT) ||
        (d->verdict == JUDGE_ERROR ? sqlite3_bind_null(s, 5)
                                   : sqlite3_bind_int(s, 5, d->verdict)) ||
        sqlite3_bind_text(s, 6, d->answer, -1, SQLITE_STATIC) ||
        sqlite3_bind_text(s, 7, d->error, -1, SQLITE_STATIC) ||
        sqlite3_bind_int64(s, 8, (int64_t)d->latency_ms) ||
        sqlite3_bind_text(s, 9, ts, -1, SQLITE_TRANSIENT) || store_done(a->st, s))
        rc = store_fail(a->st, &a->err, "storing a judge call");
    free(subs);
    *out = d->verdict;
    jdone_free(d);
    return rc;
}

static int add_rubric(struct aug *a, int64_t qid, int item, const char *kind, const char *crit,
                      double points, int64_t pid, json_t *expected)
{
    char *exp = json_dumps(expected, JSON_COMPACT);
    json_decref(expected);
    sqlite3_stmt *s = store_stmt(a->st, "INSERT INTO rubric_items(question_id, item_no, kind, "
                                        "criterion, points, passage_id, expected) VALUES "
                                        "(?1, ?2, ?3, ?4, ?5, ?6, ?7)");
    int rc = PARE_OK;
    if (!exp || !s || sqlite3_bind_int64(s, 1, qid) || sqlite3_bind_int(s, 2, item) ||
        sqlite3_bind_text(s, 3, kind, -1, SQLITE_STATIC) ||
        sqlite3_bind_text(s, 4, crit, -1, SQLITE_TRANSIENT) || sqlite3_bind_double(s, 5, points) ||
        (pid ? sqlite3_bind_int64(s, 6, pid) : sqlite3_bind_null(s, 6)) ||
        sqlite3_bind_text(s, 7, exp, -1, SQLITE_TRANSIENT) || store_done(a->st, s))
        rc = store_fail(a->st, &a->err, "storing a rubric item");
    free(exp);
    return rc;
}

static int add_negative(struct aug *a, int64_t qid, const char *kind, const struct jquestion *q,
                        uint64_t mask, const char *answer, const char *label, int verified,
                        int64_t set_id)
{
    json_t *ps = json_array();
    for (int i = 0; i < q->n; i++)
        if (mask >> i & 1) json_array_append_new(ps, json_integer(q->p[i].id));
    char *pss = json_dumps(ps, JSON_COMPACT);
    json_decref(ps);
    sqlite3_stmt *s = store_stmt(a->st, "INSERT INTO negatives(question_id, kind, passages, "
                                        "answer, label, verified, source_set_id) VALUES "
                                        "(?1, ?2, ?3, ?4, ?5, ?6, ?7)");
    int rc = PARE_OK;
    if (!pss || !s || sqlite3_bind_int64(s, 1, qid) ||
        sqlite3_bind_text(s, 2, kind, -1, SQLITE_STATIC) ||
        sqlite3_bind_text(s, 3, pss, -1, SQLITE_TRANSIENT) ||
        sqlite3_bind_text(s, 4, answer, -1, SQLITE_TRANSIENT) ||
        sqlite3_bind_text(s, 5, label, -1, SQLITE_STATIC) || sqlite3_bind_int(s, 6, verified) ||
        sqlite3_bind_int64(s, 7, set_id) || store_done(a->st, s))
        rc = store_fail(a->st, &a->err, "storing a negative");
    free(pss);
    if (rc == PARE_OK) {
        static const char *const kinds[] = {"drop_one", "add_distractor", "distractors_only",
                                            "wrong_answer", "ungrounded"};
        for (int k = 0; k < 5; k++)
            if (strcmp(kinds[k], kind) == 0) a->by_kind[k]++;
    }
    return rc;
}

/* Rubric and negatives of one question. */
static int augment_one(struct aug *a, int64_t set_id, int64_t qid, int64_t retrieval,
                       int64_t dataset)
{
    sqlite3_stmt *s = store_stmt(a->st, "SELECT question, answers FROM questions WHERE id = ?1");
    if (!s || sqlite3_bind_int64(s, 1, qid) || sqlite3_step(s) != SQLITE_ROW) {
        if (s) sqlite3_reset(s);
        return store_fail(a->st, &a->err, "reading a question");
    }
    char *question = xstrdup((const char *)sqlite3_column_text(s, 0));
    json_error_t je;
    json_t *golds = json_loads((const char *)sqlite3_column_text(s, 1), 0, &je);
    sqlite3_reset(s);
    /* candidates in rank order; members of M are flagged */
    struct jpassage p[JUDGE_MAX_CANDIDATES];
    char *titles[JUDGE_MAX_CANDIDATES] = {0};
    struct sbuf texts[JUDGE_MAX_CANDIDATES];
    memset(texts, 0, sizeof texts);
    uint64_t m = 0;
    int n = 0, rc = PARE_OK;
    s = store_stmt(a->st, "SELECT c.passage_id, p.title, p.body, EXISTS (SELECT 1 FROM "
                          "evidence_members em WHERE em.set_id = ?3 AND em.passage_id = "
                          "c.passage_id) FROM candidates c JOIN passages p ON p.id = c.passage_id "
                          "WHERE c.retrieval_id = ?1 AND c.question_id = ?2 ORDER BY c.rank");
    if (!s || sqlite3_bind_int64(s, 1, retrieval) || sqlite3_bind_int64(s, 2, qid) ||
        sqlite3_bind_int64(s, 3, set_id))
        rc = store_fail(a->st, &a->err, "reading candidates");
    int src;
    while (rc == PARE_OK && (src = sqlite3_step(s)) == SQLITE_ROW && n < JUDGE_MAX_CANDIDATES) {
        p[n].id = sqlite3_column_int64(s, 0);
        titles[n] = xstrdup((const char *)sqlite3_column_text(s, 1));
        if (blob_decompress(a->codec, sqlite3_column_blob(s, 2), (size_t)sqlite3_column_bytes(s, 2),
                            &texts[n], &a->err) != PARE_OK)
            rc = PARE_EFAIL;
        p[n].title = titles[n];
        p[n].text = texts[n].p;
        p[n].len = texts[n].len;
        if (sqlite3_column_int(s, 3)) m |= 1ULL << n;
        n++;
    }
    if (s) sqlite3_reset(s);
    struct jquestion q = {qid, question, golds, p, n, NULL};
    int size = __builtin_popcountll(m);
    /* replace what an earlier run made for this question */
    static const char *const clear[] = {"DELETE FROM rubric_items WHERE question_id = ?1",
                                        "DELETE FROM negatives WHERE question_id = ?1"};
    for (size_t i = 0; i < 2 && rc == PARE_OK; i++) {
        s = store_stmt(a->st, clear[i]);
        if (!s || sqlite3_bind_int64(s, 1, qid) || store_done(a->st, s))
            rc = store_fail(a->st, &a->err, "replacing earlier augmentation");
    }
    if (rc == PARE_OK && size == 0) goto out;
    if (rc == PARE_OK) rc = judge_prepare(a->judge, &q, &a->err);
    /* rubric: 4 + 4 + 1 + 1 */
    struct sbuf crit = {0}, norm = {0};
    if (rc == PARE_OK) {
        char *alist = json_dumps(golds, JSON_COMPACT);
        sbuf_setf(&crit, "The final answer matches a gold answer or alias: %s", alist ? alist : "");
        free(alist);
        rc = add_rubric(a, qid, 1, "answer", crit.p, 4.0, 0, json_pack("{s:O}", "answers", golds));
    }
    int item = 2;
    json_t *allowed = json_array(), *grounding = json_array();
    for (int i = 0; i < n && rc == PARE_OK; i++) {
        if (!(m >> i & 1)) continue;
        json_array_append_new(allowed, json_integer(p[i].id));
        sbuf_setf(&crit, "The reasoning uses passage %lld (\"%s\")", (long long)p[i].id,
                  p[i].title);
        rc = add_rubric(a, qid, item++, "evidence", crit.p, 4.0 / size, p[i].id,
                        json_pack("{s:I}", "passage_id", (json_int_t)p[i].id));
        /* passages of M that state an answer ground it */
        text_squad_normalize(p[i].text, &norm);
        struct sbuf na = {0};
        size_t k;
        json_t *g;
        int states = 0;
        json_array_foreach(golds, k, g)
        {
            text_squad_normalize(json_string_value(g), &na);
            if (text_contains_answer(norm.p, na.p)) states = 1;
        }
        sbuf_free(&na);
        if (states) json_array_append_new(grounding, json_integer(p[i].id));
    }
    if (json_array_size(grounding) == 0) json_array_extend(grounding, allowed); /* yes/no */
    if (rc == PARE_OK)
        rc = add_rubric(a, qid, item++, "no_extra", "No passage beyond the evidence set is cited",
                        1.0, 0, json_pack("{s:O}", "allowed", allowed));
    if (rc == PARE_OK)
        rc = add_rubric(a, qid, item++, "grounded",
                        "The answer is stated in a cited passage, not reached by a miracle step",
                        1.0, 0, json_pack("{s:O}", "answer_passages", grounding));
    json_decref(allowed);
    json_decref(grounding);
    sbuf_free(&crit);
    sbuf_free(&norm);
    if (rc == PARE_OK) a->rubrics++;
    const char *gold0 = json_string_value(json_array_get(golds, 0));
    /* drop_one: labels from the verdicts mining cached; no judge call */
    for (int i = 0; i < n && rc == PARE_OK && size > 1; i++) {
        if (!(m >> i & 1)) continue;
        uint64_t sub = m & ~(1ULL << i);
        int64_t ids[JUDGE_MAX_CANDIDATES];
        int k = 0;
        for (int j = 0; j < n; j++)
            if (sub >> j & 1) ids[k++] = p[j].id;
        unsigned char key[16];
        judge_key(a->fp, qid, ids, k, key);
        int64_t v = -1;
        s = store_stmt(a->st, "SELECT verdict FROM judge_calls WHERE key = ?1");
        int f =
            s && !sqlite3_bind_blob(s, 1, key, 16, SQLITE_STATIC) ? store_int(a->st, s, &v) : -1;
        if (f < 0)
            rc = store_fail(a->st, &a->err, "reading judge_calls");
        else
            rc = add_negative(a, qid, "drop_one", &q, sub, NULL, "insufficient", f == 1 && v == 0,
                              set_id);
    }
    /* add_distractor and distractors_only: the best-ranked non-members */
    uint64_t others = 0;
    int want = size;
    for (int i = 0; i < n && want > 0; i++)
        if (!(m >> i & 1)) {
            others |= 1ULL << i;
            want--;
        }
    if (rc == PARE_OK && others) {
        uint64_t best = others & -others;
        int v = 0;
        rc = verdict(a, &q, m | best, &v);
        if (rc == PARE_OK && v != JUDGE_ERROR)
            rc = add_negative(a, qid, "add_distractor", &q, m | best, gold0,
                              v ? "sufficient_redundant" : "insufficient", 1, set_id);
        if (rc == PARE_OK) rc = verdict(a, &q, others, &v);
        if (rc == PARE_OK && v != JUDGE_ERROR)
            rc = add_negative(a, qid, "distractors_only", &q, others, NULL,
                              v ? "sufficient" : "insufficient", 1, set_id);
    }
    /* wrong_answer: the evidence with a wrong answer of the same kind */
    const char *wrong = rc == PARE_OK ? wrong_answer(a, qid, dataset, golds) : NULL;
    if (wrong) rc = add_negative(a, qid, "wrong_answer", &q, m, wrong, "wrong_answer", 1, set_id);
    /* ungrounded: the right answer, no evidence */
    if (rc == PARE_OK)
        rc = add_negative(a, qid, "ungrounded", &q, 0, gold0, "miracle_step", 1, set_id);
    if (q.prep) judge_release(a->judge, &q);
out:
    for (int i = 0; i < n; i++) {
        free(titles[i]);
        sbuf_free(&texts[i]);
    }
    json_decref(golds);
    free(question);
    return rc;
}

int job_augment(struct pare_ctx *ctx, int argc, char **argv)
{
    const char *judge_spec = NULL, *method = NULL;
    int64_t retrieval = 0;
    struct judge_opts jo = {0};
    const struct opt opts[] = {
        {"judge", OPT_STRING, &judge_spec, "lexical", "J",
         "the judge whose sets to use and that labels new negatives"},
        {"method", OPT_STRING, &method, "loo", "M", "the minimiser whose sets to use"},
        {"retrieval", OPT_INT, &retrieval, "0", "ID", "candidates of this retrieval (0: newest)"},
        {"coverage", OPT_DOUBLE, &jo.coverage, "0.8", "X", "lexical judge: as for pare mine"},
        {"model", OPT_STRING, &jo.model, NULL, "NAME", "openai judge: model"},
        {"timeout", OPT_DOUBLE, &jo.timeout_s, "60", "S", "openai, exec: seconds per call"},
        {NULL},
    };
    const struct cli cli = {
        "augment", NULL, "Build rubrics and negatives from the mined minimal sets.", NULL, opts,
        0,         0};
    int rc;
    if (cli_options(&cli, ctx, argc, argv, &rc)) return rc;
    struct aug a = {0};
    a.method = method;
    jo.spec = judge_spec;
    jo.verify = "f1";
    jo.f1_threshold = 0.8;
    jo.max_concurrency = 1;
    jo.max_retries = 5;
    jo.max_tokens = 64;
    if (judge_new(&jo, &a.judge, &a.err) != PARE_OK) {
        fprintf(stderr, "pare augment: %s\n", sbuf_str(&a.err));
        sbuf_free(&a.err);
        return PARE_EUSAGE;
    }
    a.fp = judge_fingerprint(a.judge);
    if (job_open(&a.job, ctx, "augment", 0, argc, argv, &a.st) != PARE_OK) {
        judge_free(a.judge);
        return PARE_EFAIL;
    }
    a.codec = store_codec(a.st);
    rc = store_retrieval(a.st, &retrieval, 1, &a.err);
    if (rc == PARE_OK) rc = load_pool(&a);
    if (rc == PARE_OK && store_begin(a.st) != PARE_OK) rc = store_fail(a.st, &a.err, "BEGIN");
    /* the sets first (statements below reuse the connection) */
    int64_t *sets = NULL;
    size_t n = 0, cap = 0;
    if (rc == PARE_OK) {
        sqlite3_stmt *s = store_stmt(a.st, "SELECT e.id, e.question_id, q.dataset_id FROM "
                                           "evidence_sets e JOIN questions q ON q.id = "
                                           "e.question_id WHERE e.judge = ?1 AND e.method = ?2 "
                                           "AND e.status = 'minimal' AND EXISTS (SELECT 1 FROM "
                                           "candidates c WHERE c.retrieval_id = ?3 AND "
                                           "c.question_id = e.question_id) ORDER BY e.question_id");
        if (!s || sqlite3_bind_text(s, 1, a.fp, -1, SQLITE_STATIC) ||
            sqlite3_bind_text(s, 2, method, -1, SQLITE_STATIC) ||
            sqlite3_bind_int64(s, 3, retrieval))
            rc = store_fail(a.st, &a.err, "reading evidence sets");
        int src;
        while (rc == PARE_OK && (src = sqlite3_step(s)) == SQLITE_ROW) {
            xgrow((void **)&sets, &cap, 3 * (n + 1), sizeof *sets);
            for (int k = 0; k < 3; k++) sets[3 * n + (size_t)k] = sqlite3_column_int64(s, k);
            n++;
        }
        if (s) sqlite3_reset(s);
    }
    if (rc == PARE_OK && n == 0) {
        sbuf_setf(&a.err, "no minimal sets for judge %s and method %s: run pare mine first", a.fp,
                  method);
        rc = PARE_EUSAGE;
    }
    for (size_t i = 0; i < n && rc == PARE_OK; i++) {
        rc = augment_one(&a, sets[3 * i], sets[3 * i + 1], retrieval, sets[3 * i + 2]);
        job_progress(&a.job, "questions", (uint64_t)i + 1, (uint64_t)n, 0, 0);
    }
    free(sets);
    if (rc == PARE_OK && store_commit(a.st) != PARE_OK) rc = store_fail(a.st, &a.err, "COMMIT");
    if (rc != PARE_OK) {
        store_rollback(a.st);
        fprintf(stderr, "pare augment: %s\n", sbuf_str(&a.err));
    } else {
        job_say(&a.job,
                "augment: %lld rubrics; negatives: %lld drop_one, %lld add_distractor, %lld "
                "distractors_only, %lld wrong_answer, %lld ungrounded; %lld judge calls, %lld "
                "cache hits",
                (long long)a.rubrics, (long long)a.by_kind[0], (long long)a.by_kind[1],
                (long long)a.by_kind[2], (long long)a.by_kind[3], (long long)a.by_kind[4],
                (long long)a.calls, (long long)a.cached);
    }
    json_t *sum =
        json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "rubrics", (json_int_t)a.rubrics,
                  "drop_one", (json_int_t)a.by_kind[0], "add_distractor", (json_int_t)a.by_kind[1],
                  "distractors_only", (json_int_t)a.by_kind[2], "wrong_answer",
                  (json_int_t)a.by_kind[3], "ungrounded", (json_int_t)a.by_kind[4], "judge_calls",
                  (json_int_t)a.calls, "cache_hits", (json_int_t)a.cached);
    rc = job_end(&a.job, rc, a.rubrics, 0, rc == PARE_OK ? NULL : sbuf_str(&a.err), sum);
    for (size_t i = 0; i < a.pool.n; i++) free(a.pool.text[i]);
    free(a.pool.text);
    free(a.pool.kind);
    free(a.pool.dataset);
    free(a.pool.qid);
    blob_codec_free(a.codec);
    judge_free(a.judge);
    sbuf_free(&a.err);
    store_close(a.st);
    return rc;
}
