/*
 * retrieve.c - `pare retrieve`: the candidate passages of every question.
 *
 * Scope corpus searches the whole index; scope context ranks each question's own passages (the
 * distractor setting). The query is the question, or the question and its first gold answer
 * (--with-answer, as Context-Picker builds its candidate pool). The search is index/search.h's,
 * the storage index/candidates.h's: one transaction per batch of questions, and a rerun skips
 * questions that already have candidates.
 */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "index/candidates.h"
#include "index/catalog.h"
#include "index/search.h"
#include "jobs/jobs.h"
#include "jobs/job.h"

struct retrieve_args {
    const char *want_emb, *scope, *params, *dataset, *qvec, *qids, *qids_kind;
    int64_t index_id, k, rerank, limit, batch;
    int with_answer;
    struct openai_opts oa;
};

/* Parses the options into a. Returns 1 when the command must return *rc at once. */
static int parse_args(struct retrieve_args *a, struct pare_ctx *ctx, int argc, char **argv, int *rc)
{
    const struct opt opts[] = {
        {"index", OPT_INT, &a->index_id, "0", "ID", "index to search (0: the newest)"},
        {"k", OPT_INT, &a->k, "-1", "K",
         "candidates per question (-1: 10 in corpus scope, all in context scope)"},
        {"scope", OPT_STRING, &a->scope, "corpus", "S",
         "corpus (whole index) or context (the question's own passages)"},
        {"embedder", OPT_STRING, &a->want_emb, NULL, "KIND",
         "fail unless the index was built with this embedder (hash, file, openai)"},
        {"with-answer", OPT_FLAG, &a->with_answer, NULL, NULL,
         "query with the question and its first gold answer (Context-Picker's pool)"},
        {"rerank", OPT_INT, &a->rerank, "100", "R",
         "hash embedder: re-score the best R hits by exact BM25 (0: off; a postings index is "
         "exact: R at least its passages scores every passage, to check it)"},
        {"params", OPT_STRING, &a->params, "", "P",
         "FAISS search parameters, e.g. nprobe=16 (empty: those the index was built with)"},
        {"dataset", OPT_STRING, &a->dataset, NULL, "NAME", "only this dataset's questions"},
        {"limit", OPT_INT, &a->limit, "0", "N", "at most N questions this run (0: all)"},
        {"batch", OPT_INT, &a->batch, "256", "N", "questions searched and stored at a time"},
        {"max-concurrency", OPT_INT, &a->oa.max_concurrency, "8", "N",
         "openai: requests in flight per endpoint"},
        {"timeout", OPT_DOUBLE, &a->oa.timeout_s, "60", "S", "openai: seconds per request"},
        {"max-retries", OPT_INT, &a->oa.max_retries, "5", "N",
         "openai: retries of a failed request"},
        {"query-vectors", OPT_STRING, &a->qvec, NULL, "FILE",
         "file embedder: question vectors (.npy or .fvecs)"},
        {"query-ids", OPT_STRING, &a->qids, NULL, "FILE",
         "file embedder: one question id per line"},
        {"query-ids-kind", OPT_STRING, &a->qids_kind, "id", "KIND",
         "question ids are pare's (id) or the dataset's (ext)"},
        CLI_OPT_ENDPOINT,
        CLI_OPT_SHARD,
        {NULL},
    };
    const struct cli cli = {
        "retrieve", NULL, "Find the candidate passages of every question with a FAISS index.",
        NULL,       opts, 0,
        0};
    a->oa.request_size = 64; /* queries go in one batch of requests per batch of questions */
    return cli_options(&cli, ctx, argc, argv, rc);
}

/* Why the options are wrong, or NULL. */
static const char *bad_option(const struct retrieve_args *a)
{
    enum embed_kind ek;
    if (strcmp(a->scope, "corpus") != 0 && strcmp(a->scope, "context") != 0)
        return "--scope must be corpus or context";
    if (a->k == 0 || a->k < -1) return "--k must be positive, or -1 for the scope's default";
    if (a->batch < 1) return "--batch must be positive";
    if (a->rerank < 0) return "--rerank must not be negative";
    if (a->limit < 0) return "--limit must not be negative";
    if (a->want_emb && embed_kind_parse(a->want_emb, &ek) != 0)
        return "--embedder must be hash, file or openai";
    if (strcmp(a->qids_kind, "id") != 0 && strcmp(a->qids_kind, "ext") != 0)
        return "--query-ids-kind must be id or ext";
    return NULL;
}

/* One run of the command. */
struct retrieve_run {
    struct job job;
    struct searcher s;
    struct retrieval_cfg cfg;
    int64_t retrieval_id;
    char *model; /* openai embedder: the index's model */
    struct sbuf err;
};

/* The openai embedder's server, for the model the index was built with. */
static int setup_openai(struct retrieve_run *r, struct retrieve_args *a)
{
    json_t *d = embedder_describe(r->s.ix->emb);
    const char *model = json_string_value(json_object_get(d, "model"));
    r->model = xstrdup(model ? model : "");
    json_decref(d);
    a->oa.model = r->model;
    return openai_cfg_init(&r->s.oc, &a->oa, &r->err);
}

/* Loads the index and whatever its embedder needs to make query vectors. */
static int open_index(struct retrieve_run *r, struct retrieve_args *a)
{
    /* context scope with the hash embedder reads no FAISS file: it scores the features */
    int corpus = strcmp(a->scope, "corpus") == 0;
    int rc = catalog_load(r->s.st, a->index_id,
                          corpus ? CATALOG_SEARCH | CATALOG_FEATURES : CATALOG_FEATURES, &r->s.ix,
                          &r->err);
    if (rc == PARE_OK && !corpus && embedder_kind(r->s.ix->emb) != EMBED_HASH) {
        int64_t id = r->s.ix->id; /* ranked by stored vectors: those are in the FAISS file */
        catalog_free(r->s.ix);
        rc = catalog_load(r->s.st, id, CATALOG_SEARCH, &r->s.ix, &r->err);
    }
    if (rc != PARE_OK) return rc;
    enum embed_kind ek = embedder_kind(r->s.ix->emb);
    if (a->want_emb && strcmp(a->want_emb, embed_kind_name(ek)) != 0) {
        sbuf_setf(&r->err, "index %lld was built with the %s embedder, not %s",
                  (long long)r->s.ix->id, embed_kind_name(ek), a->want_emb);
        return PARE_EUSAGE;
    }
    if (ek == EMBED_OPENAI) {
        rc = setup_openai(r, a);
    } else if (ek == EMBED_FILE && !a->qvec) {
        sbuf_setf(&r->err,
                  "index %lld uses the file embedder: give the questions' vectors with "
                  "--query-vectors and --query-ids",
                  (long long)r->s.ix->id);
        rc = PARE_EUSAGE;
    } else if (a->qvec && !a->qids) {
        sbuf_setf(&r->err, "--query-vectors needs --query-ids");
        rc = PARE_EUSAGE;
    }
    /* --params, else what the index was built to be searched with */
    const char *params = *a->params ? a->params : r->s.ix->search_params;
    if (rc == PARE_OK && *a->params && r->s.ix->post) {
        sbuf_setf(&r->err, "index %lld is a postings index: it takes no FAISS --params",
                  (long long)r->s.ix->id);
        rc = PARE_EUSAGE;
    }
    if (rc == PARE_OK && r->s.ix->vx) rc = vindex_set_params(r->s.ix->vx, params, &r->err);
    if (rc == PARE_OK && a->qvec)
        rc = searcher_query_vectors(&r->s, a->qvec, a->qids, strcmp(a->qids_kind, "ext") == 0,
                                    &r->err);
    return rc;
}

/* A batch of questions and, in context scope, what ranking them needs from the store. */
struct batch {
    struct ranked *qs;
    int nq;
    struct context_load l;
};

/* Reads the batch after question `after` into b, `done` questions being stored or on their
 * way (for --limit). Returns PARE_OK (b->nq 0: none left) or PARE_EFAIL with r->err set. */
static int read_batch(struct retrieve_run *r, const struct retrieve_args *a, int64_t done,
                      int64_t after, struct batch *b)
{
    b->nq = 0;
    if (a->limit && done >= a->limit) return PARE_OK;
    int64_t left = a->limit - done;
    int64_t want = a->limit && left < a->batch ? left : a->batch;
    int rc = candidates_next(r->s.st, r->retrieval_id, a->with_answer, a->dataset, after, want,
                             b->qs, &b->nq, &r->err);
    if (rc == PARE_OK && b->nq && !r->cfg.corpus)
        rc = search_context_load(&r->s, b->qs, b->nq, &b->l, &r->err);
    return rc;
}

/* Ranks batch b (read by read_batch), its errors in err. */
static int rank_batch(struct retrieve_run *r, struct batch *b, struct sbuf *err)
{
    if (r->cfg.corpus) return search_corpus(&r->s, b->qs, b->nq, err);
    return search_context_rank(&r->s, b->qs, b->nq, &b->l, err);
}

/* Reads the batch after `prev` into b (none when prev is empty or reading failed before:
 * *failed), its error kept in *failed_rc and failed_msg. `on_way` questions are stored or
 * read before it (for --limit). */
static void read_ahead(struct retrieve_run *r, const struct retrieve_args *a, int64_t on_way,
                       const struct batch *prev, struct batch *b, int *failed_rc,
                       struct sbuf *failed_msg)
{
    b->nq = 0;
    if (!prev->nq || *failed_rc != PARE_OK) return;
    sbuf_reset(&r->err);
    int got = read_batch(r, a, on_way, prev->qs[prev->nq - 1].qid, b);
    if (got == PARE_OK) return;
    search_context_release(&b->l);
    ranked_free(b->qs, b->nq);
    b->nq = 0;
    *failed_rc = got;
    sbuf_setf(failed_msg, "%s", sbuf_str(&r->err));
}

/*
 * Retrieves and stores batch after batch; *done counts the questions stored. In context scope
 * three batches are in flight: while one thread stores batch k and then reads batch k+2 (the
 * store's work, one after the other on its connection), another ranks batch k+1, which needs
 * no store. Storing and ranking one after the other left a core idle while storing (10,000
 * HotpotQA questions: 0.133 s -> 0.119 s, medians of 8), and reading the next batch before
 * both started left one idle while reading (a sixth of the run's CPU time). A batch that
 * cannot be read stops the run once the batches before it are stored. Corpus scope keeps the
 * order read, search, store: its search already uses every core.
 */
static int run_batches(struct retrieve_run *r, const struct retrieve_args *a, int64_t *done)
{
    struct batch b[3];
    for (int i = 0; i < 3; i++)
        b[i] = (struct batch){.qs = xcalloc((size_t)a->batch, sizeof *b[i].qs)};
    struct batch *cur = &b[0], *next = &b[1], *spare = &b[2];
    struct sbuf rank_err = {0}, read_err = {0};
    int read_rc = PARE_OK; /* a batch ahead that could not be read */
    /* foreign keys off once for every batch's candidates, not once per batch: each change of
     * the setting makes SQLite prepare every statement again */
    int rc = store_fk_suspend(r->s.st) == PARE_OK
                 ? PARE_OK
                 : store_fail(r->s.st, &r->err, "storing candidates");
    if (rc == PARE_OK) rc = read_batch(r, a, 0, 0, cur);
    if (rc == PARE_OK && cur->nq) rc = rank_batch(r, cur, &r->err);
    int overlap = !r->cfg.corpus && omp_get_max_threads() > 1;
    if (rc == PARE_OK && overlap) read_ahead(r, a, cur->nq, cur, next, &read_rc, &read_err);
    while (rc == PARE_OK && cur->nq) {
        int stored, ranked = PARE_OK;
        sbuf_reset(&rank_err);
        if (overlap) {
            int64_t on_way = *done + cur->nq + next->nq;
#pragma omp parallel sections num_threads(2)
            {
#pragma omp section
                {
                    stored = candidates_store(r->s.st, r->retrieval_id, r->cfg.k, cur->qs, cur->nq,
                                              &r->err);
                    if (stored == PARE_OK)
                        read_ahead(r, a, on_way, next, spare, &read_rc, &read_err);
                }
#pragma omp section
                if (next->nq) ranked = rank_batch(r, next, &rank_err);
            }
        } else {
            stored =
                candidates_store(r->s.st, r->retrieval_id, r->cfg.k, cur->qs, cur->nq, &r->err);
            if (stored == PARE_OK)
                read_ahead(r, a, *done + cur->nq, cur, next, &read_rc, &read_err);
            if (stored == PARE_OK && next->nq) ranked = rank_batch(r, next, &rank_err);
        }
        rc = stored;
        if (rc == PARE_OK) {
            *done += cur->nq;
            job_progress(&r->job, "questions", (uint64_t)*done, 0, 0, 0);
            if (ranked != PARE_OK) {
                sbuf_setf(&r->err, "%s", sbuf_str(&rank_err));
                rc = ranked;
            }
        }
        ranked_free(cur->qs, cur->nq);
        cur->nq = 0;
        struct batch *t = cur; /* stored: it takes the place of the last batch in flight */
        cur = next;
        if (overlap) {
            next = spare;
            spare = t;
        } else {
            next = t;
        }
    }
    if (rc == PARE_OK && read_rc != PARE_OK) { /* every batch before it is stored */
        sbuf_setf(&r->err, "%s", sbuf_str(&read_err));
        rc = read_rc;
    }
    /* batches read and not ranked or not stored (an error stopped the run) */
    for (int i = 0; i < 3; i++) {
        search_context_release(&b[i].l);
        ranked_free(b[i].qs, b[i].nq);
        free(b[i].qs);
    }
    sbuf_free(&rank_err);
    sbuf_free(&read_err);
    if (store_fk_resume(r->s.st) != PARE_OK && rc == PARE_OK)
        rc = store_fail(r->s.st, &r->err, "storing candidates");
    return rc;
}

int job_retrieve(struct pare_ctx *ctx, int argc, char **argv)
{
    struct retrieve_args a = {0};
    int rc;
    if (parse_args(&a, ctx, argc, argv, &rc)) return rc;
    const char *why = bad_option(&a);
    if (why) {
        fprintf(stderr, "pare retrieve: %s\n", why);
        return PARE_EUSAGE;
    }
    struct retrieve_run r = {0};
    r.cfg.corpus = strcmp(a.scope, "corpus") == 0;
    r.cfg.k = a.k > 0 ? a.k : (r.cfg.corpus ? 10 : 0);
    r.cfg.with_answer = a.with_answer;
    if (job_open(&r.job, ctx, "retrieve", 0, argc, argv, &r.s.st) != PARE_OK) return PARE_EFAIL;
    rc = open_index(&r, &a);
    int64_t done = 0;
    if (rc == PARE_OK) {
        r.cfg.index_id = r.s.ix->id;
        r.cfg.rerank = embedder_kind(r.s.ix->emb) == EMBED_HASH ? a.rerank : 0;
        r.s.k = r.cfg.k;
        r.s.rerank = r.cfg.rerank;
        searcher_init(&r.s);
        rc = candidates_retrieval(r.s.st, &r.cfg, &r.retrieval_id, &r.err);
    }
    if (rc == PARE_OK) rc = run_batches(&r, &a, &done);
    if (rc == PARE_OK) {
        job_say(&r.job, "retrieve: %lld questions, retrieval %lld (index %lld, %s scope, k %lld%s)",
                (long long)done, (long long)r.retrieval_id, (long long)r.s.ix->id, a.scope,
                (long long)r.cfg.k, a.with_answer ? ", with answer" : "");
        if (!ctx->nested) printf("%lld\n", (long long)r.retrieval_id);
    } else {
        fprintf(stderr, "pare retrieve: %s\n", sbuf_str(&r.err));
    }
    rc = job_end(&r.job, rc, done, 0, rc == PARE_OK ? NULL : sbuf_str(&r.err), NULL);
    searcher_free(&r.s);
    catalog_free(r.s.ix);
    free(r.model);
    sbuf_free(&r.err);
    store_close(r.s.st);
    return rc;
}
