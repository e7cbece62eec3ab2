/*
 * text.c - pare_bench_text: the tokenisers on real passages, in one process, so that a change
 * to common/text.c or the hash features is measured without the noise of whole commands.
 *
 *   pare_bench_text FILE.jsonl [ROUNDS]
 *
 * FILE is IRCoT JSON Lines (question_text, contexts[].title, contexts[].paragraph_text): its
 * distinct passages are scanned ROUNDS times (default 15) by each of
 *   words     text_words(text, 0): what the index hashes (text_tokenize);
 *   features  hash_features(title, text) with the default hash embedder: tokens, bigrams, counts;
 *   judge     text_scan_some("title\ntext", filter of the question's words): what the lexical
 *             judge reads of each candidate (normalised text and words with attributes).
 * Each line gives the best round (ms), nanoseconds a passage and MB/s of text. Figures, not a
 * test.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <xxhash.h>

#include "common/text.h"
#include "index/embed.h"

struct passage {
    char *title, *text, *both; /* both: "title\ntext", as the judge reads it */
    size_t len, both_len;
    struct text_filter filter; /* the words of the question it came with */
};

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* Whether the 64-bit key h was seen, adding it if not: an open-addressing set in *set of
 * *slots (a power of two, grown at half full; 0 is no key). */
static int seen_before(uint64_t h, uint64_t **set, size_t *slots, size_t *n)
{
    if (!h) h = 1;
    if (2 * (*n + 1) > *slots) {
        size_t old = *slots, grown = old ? 2 * old : 1024;
        uint64_t *s = xcalloc(grown, sizeof *s);
        for (size_t i = 0; i < old; i++) {
            if (!(*set)[i]) continue;
            size_t k = (*set)[i] & (grown - 1);
            while (s[k]) k = (k + 1) & (grown - 1);
            s[k] = (*set)[i];
        }
        free(*set);
        *set = s;
        *slots = grown;
    }
    size_t k = h & (*slots - 1);
    for (; (*set)[k]; k = (k + 1) & (*slots - 1))
        if ((*set)[k] == h) return 1;
    (*set)[k] = h;
    (*n)++;
    return 0;
}

/* The distinct passages of the file (by title and text), in file order. */
static struct passage *load(const char *path, size_t *n_out)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        perror(path);
        exit(1);
    }
    struct passage *ps = NULL;
    size_t n = 0, cap = 0, slots = 0, n_seen = 0;
    uint64_t *seen = NULL;
    long lineno = 0;
    struct sbuf line = {0}, key = {0};
    struct tokens scratch = {0};
    char buf[1 << 16];
    for (;;) {
        sbuf_reset(&line);
        while (fgets(buf, sizeof buf, f)) {
            sbuf_adds(&line, buf);
            if (line.len && line.p[line.len - 1] == '\n') break;
        }
        if (!line.len) break;
        lineno++;
        json_error_t je;
        json_t *r = json_loads(line.p, 0, &je);
        if (!r) {
            fprintf(stderr, "%s:%ld: %s\n", path, lineno, je.text);
            exit(1);
        }
        const char *q = json_string_value(json_object_get(r, "question_text"));
        struct text_filter qf = {{0}};
        tokens_reset(&scratch);
        if (q) text_words_filter(q, strlen(q), 0, &scratch, 0, NULL, &qf);
        size_t k;
        json_t *c;
        json_array_foreach(json_object_get(r, "contexts"), k, c)
        {
            const char *title = json_string_value(json_object_get(c, "title"));
            const char *text = json_string_value(json_object_get(c, "paragraph_text"));
            if (!title || !text) continue;
            sbuf_reset(&key);
            sbuf_addf(&key, "%s\n%s", title, text);
            if (seen_before(XXH3_64bits(key.p, key.len), &seen, &slots, &n_seen)) continue;
            if (n == cap) xgrow((void **)&ps, &cap, n + 1, sizeof *ps);
            struct passage *p = &ps[n++];
            p->title = xstrdup(title);
            p->text = xstrdup(text);
            p->len = strlen(text);
            p->both_len = key.len;
            p->both = xstrdup(key.p); /* "title\ntext", as the judge reads it */
            p->filter = qf;
        }
        json_decref(r);
    }
    fclose(f);
    sbuf_free(&line);
    sbuf_free(&key);
    free(seen);
    tokens_free(&scratch);
    *n_out = n;
    return ps;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: pare_bench_text FILE.jsonl [ROUNDS]\n");
        return 2;
    }
    int rounds = argc > 2 ? atoi(argv[2]) : 15;
    if (rounds < 1) rounds = 1;
    size_t n;
    struct passage *ps = load(argv[1], &n);
    size_t bytes = 0;
    for (size_t i = 0; i < n; i++) bytes += ps[i].len;
    struct hash_params hp = {.dim = HASH_DEFAULT_DIM,
                             .bigram_weight = 0.5,
                             .title_repeat = 2,
                             .k1 = 1.2,
                             .b = 0.75,
                             .version = HASH_VERSION};
    struct embedder *e = embedder_hash_new(&hp);
    struct tokens t = {0};
    struct hfeats hf = {0};
    struct sbuf norm = {0};
    static const char *const names[] = {"words", "features", "judge"};
    printf("text benchmark: %zu passages, %.2f MB of text, best of %d rounds\n", n, bytes / 1e6,
           rounds);
    for (int which = 0; which < 3; which++) {
        double best = 1e30;
        size_t sum = 0; /* tokens seen: the work is not optimised away, and runs agree */
        for (int r = 0; r < rounds; r++) {
            double t0 = now();
            for (size_t i = 0; i < n; i++) {
                const struct passage *p = &ps[i];
                if (which == 0) {
                    tokens_reset(&t);
                    text_words(p->text, p->len, 0, &t);
                    sum += t.n;
                } else if (which == 1) {
                    hash_features(e, p->title, p->text, p->len, &hf);
                    sum += hf.n;
                } else {
                    tokens_reset(&t);
                    text_scan_some(p->both, p->both_len, &norm, &p->filter, &t);
                    sum += t.n + norm.len;
                }
            }
            double dt = now() - t0;
            if (dt < best) best = dt;
        }
        printf("%-9s %8.2f ms  %7.0f ns/passage  %6.0f MB/s  (check %zu)\n", names[which],
               best * 1e3, best * 1e9 / (double)n, (double)bytes / best / 1e6, sum / rounds);
    }
    for (size_t i = 0; i < n; i++) {
        free(ps[i].title);
        free(ps[i].text);
        free(ps[i].both);
    }
    free(ps);
    tokens_free(&t);
    hfeats_free(&hf);
    sbuf_free(&norm);
    embedder_free(e);
    return 0;
}
