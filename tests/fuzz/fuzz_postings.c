/*
 * fuzz_postings.c - post_open (index/postings.h) on any bytes: a postings file is untrusted, so
 * opening it either fails with a message naming the file or gives one whose every list stays
 * inside the mapping; and when it opens with the rows of this harness's features file (eight
 * passages, its postings are the seed), searching it returns min(k, rows) rows, each a real row,
 * and never reads outside the file, whatever its bounds say.
 *
 * The seed is written by running the harness with FUZZ_POSTINGS_SEED=PATH.
 */
#define _POSIX_C_SOURCE 200809L
#include <string.h>
#include <unistd.h>

#include "fuzz.h"
#include "index/postings.h"

static const char *const TEXTS[] = {
    "Vorlen is a city on the river Dra, founded by settlers from Kamira.",
    "Kamira Kamira is a mountain town known for its copper mines.",
    "Ada Brenn was a film director born in Vorlen in 1931.",
    "Copper copper is a metal mined in mountain towns.",
    "The river Dra flows through Vorlen and Kamira.",
    "A film about copper mines was made in 1931.",
    "Settlers from Vorlen founded the town of Dra.",
    "Kamira is known for its film festival.",
};
#define N_TEXTS (int)(sizeof TEXTS / sizeof *TEXTS)

static struct embedder *emb;
static struct feat_file *ff;
static struct hquery query;
static char feat_path[128];

static void cleanup(void)
{
    feat_close(ff);
    remove(feat_path);
    hquery_free(&query);
    embedder_free(emb);
}

/* The features file of TEXTS (fitted embedder), and the postings seed when asked for. */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    const struct hash_params hp = {64, 0.5, 2, 0.9, 0.4, HASH_VERSION};
    struct hfeats f = {0};
    struct sbuf err = {0}, row = {0};
    struct feat_writer *w;
    char sum[33];
    double total = 0;
    emb = embedder_hash_new(&hp);
    for (int i = 0; i < N_TEXTS; i++) {
        hash_features(emb, NULL, TEXTS[i], strlen(TEXTS[i]), &f);
        hash_fit_add(emb, &f);
        total += f.len;
    }
    hash_fit_done(emb, N_TEXTS, total);
    snprintf(feat_path, sizeof feat_path, "%s/pare-fuzz-post-%ld.feat",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", (long)getpid());
    CHECK(feat_create(feat_path, &w, &err) == PARE_OK);
    for (int i = 0; i < N_TEXTS; i++) {
        hash_features(emb, NULL, TEXTS[i], strlen(TEXTS[i]), &f);
        feat_encode(&f, &row);
        CHECK(feat_append(w, i + 1, &row, &err) == PARE_OK);
    }
    CHECK(feat_finish(w, sum, &err) == PARE_OK && feat_commit(w, &err) == PARE_OK);
    feat_writer_free(w);
    CHECK(feat_open(feat_path, sum, &ff, &err) == PARE_OK);
    atexit(cleanup);
    hash_features(emb, NULL, "copper mines of Kamira in 1931", 30, &f);
    hash_query(emb, &f, &query);
    const char *seed = getenv("FUZZ_POSTINGS_SEED");
    if (seed) {
        struct post_writer *pw;
        CHECK(post_build(ff, emb, NULL, NULL, seed, &pw, sum, &err) == PARE_OK);
        CHECK(post_commit(pw, &err) == PARE_OK);
        post_writer_free(pw);
    }
    hfeats_free(&f);
    sbuf_free(&row);
    sbuf_free(&err);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_file(data, size);
    struct post_file *p;
    struct sbuf err = {0};
    if (post_open(path, NULL, &p, &err) != PARE_OK) {
        CHECK(strncmp(sbuf_str(&err), path, strlen(path)) == 0);
        sbuf_free(&err);
        return 0;
    }
    int64_t keys, postings;
    post_counts(p, &keys, &postings);
    CHECK(keys >= 0 && postings >= 0 && (uint64_t)postings <= size);
    CHECK((uint64_t)post_rows(p) <= size);
    if (post_rows(p) == feat_rows(ff)) {
        struct post_scratch *s = post_scratch_new(p);
        int64_t rows[N_TEXTS + 2], n;
        double scores[N_TEXTS + 2];
        for (int64_t k = 1; k <= N_TEXTS + 2; k += 3) {
            CHECK(post_search(p, ff, emb, &query, k, s, rows, scores, &n, &err) == PARE_OK);
            CHECK(n == (k < N_TEXTS ? k : N_TEXTS));
            for (int64_t i = 0; i < n; i++) CHECK(rows[i] >= 0 && rows[i] < N_TEXTS);
        }
        post_scratch_free(s);
    }
    post_close(p);
    sbuf_free(&err);
    return 0;
}
