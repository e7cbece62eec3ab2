/*
 * fuzz_trajectory.c - a trajectory line as pare score takes it: parsed as a JSON record, its
 * fields checked (traj_parse_line, pare's lines and trainers' rollout dumps alike), its selection
 * read (traj_selection), then measured and rewarded under every scheme (pipeline/trajectory.h,
 * pipeline/reward.h). Every reward is a finite number. A line the cJSON path takes
 * (traj_tree_line, trajectory_fast.c) is one the jansson path accepts, with the same fields.
 */
#include <math.h>
#include <stdlib.h>

#include <cjson/cJSON.h>
#include <string.h>

#include "common/jsonfast.h"
#include "common/reader.h"
#include "fuzz.h"
#include "pipeline/trajectory.h"
#include "pipeline/trajectory_impl.h"

static struct traj_question q;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    static int64_t cand[] = {11, 12, 13, 14, 15}, mem[] = {12, 14}, allowed[] = {12, 14},
                   answer_at[] = {14};
    static struct reward_rubric_item rubric[] = {
        {RUBRIC_ANSWER, 4, 0, NULL, 0},        {RUBRIC_EVIDENCE, 2, 12, NULL, 0},
        {RUBRIC_EVIDENCE, 2, 14, NULL, 0},     {RUBRIC_NO_EXTRA, 1, 0, allowed, 2},
        {RUBRIC_GROUNDED, 1, 0, answer_at, 1},
    };
    static char key[] = "5a8b57f25542995d1e6f1371", gold[] = "scott derrickson";
    q.key = key;
    q.qid = 1;
    q.cand = cand;
    q.nc = 5;
    q.mem = mem;
    q.nm = 2;
    q.golds = json_pack("[s, s]", "Scott Derrickson", "Derrickson");
    q.norm_gold = gold;
    q.rubric = rubric;
    q.n_rubric = 5;
    return 0;
}

static void score(const struct traj_line *l, const int64_t *ids, int n, int stated)
{
    char *answer = traj_answer(l);
    struct traj_item it = {0};
    traj_measure(&q, l, answer, ids, n, stated, &it);
    int bucket;
    double target[3];
    traj_buckets(&it, 1, &bucket);
    traj_laser_d_targets(&it, 1, &bucket, target);
    for (int s = 0; s < N_SCHEMES; s++) {
        struct sbuf comp = {0};
        double v = 0;
        reward_components(&it.m, bucket, &comp);
        if (reward_value((enum reward_scheme)s, &it.m, &reward_defaults, target[bucket], &v,
                         &comp) == 0)
            CHECK(isfinite(v));
        sbuf_free(&comp);
    }
    free(answer);
}

/* Two C strings, both NULL or equal. */
static int same_str(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

/* The cJSON path on the same text: when it takes the line, the jansson path accepted it (ok)
 * and read the same fields and selection (l, ids[0..n), stated). */
static void check_tree_path(const char *text, size_t size, int ok, const struct traj_line *l,
                            const int64_t *ids, int n, int stated)
{
    struct jsonfast_arena a = {0};
    const cJSON *t = traj_numbers_exact(text, size) ? jsonfast_tree_in(&a, text, size) : NULL;
    struct traj_line g;
    int64_t *gids = NULL;
    int gn = 0, gstated = 0;
    if (t && traj_tree_line(t, text, size, &g, &gids, &gn, &gstated) == 0) {
        CHECK(ok);
        CHECK(strcmp(sbuf_str(&g.question), sbuf_str(&l->question)) == 0);
        CHECK(strcmp(sbuf_str(&g.ext), sbuf_str(&l->ext)) == 0);
        CHECK(g.default_ext == l->default_ext && !l->dataset);
        CHECK(same_str(g.response, l->response) && same_str(g.answer, l->answer) &&
              same_str(g.policy, l->policy));
        CHECK(g.has_step == l->has_step && g.step == l->step);
        CHECK(g.has_n_tokens == l->has_n_tokens && g.n_tokens == l->n_tokens);
        CHECK(g.has_score == l->has_score && g.score == l->score);
        CHECK(gn == n && gstated == stated);
        for (int i = 0; i < n; i++) CHECK(gids[i] == ids[i]);
        traj_line_free(&g);
    }
    free(gids);
    jsonfast_arena_free(&a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *rec;
    struct sbuf err = {0};
    if (reader_parse("fuzz", (const char *)data, size, 1, &rec, &err) != READ_RECORD) {
        sbuf_free(&err);
        return 0;
    }
    struct traj_line l = {0};
    int64_t *ids = NULL;
    int n = 0, stated = 0, ok = 0;
    if (traj_parse_line(rec, (const char *)data, size, &l, &err) == PARE_OK &&
        traj_selection(&l, &ids, &n, &stated, &err) == PARE_OK) {
        ok = 1;
        score(&l, ids, n, stated);
    }
    check_tree_path((const char *)data, size, ok, &l, ids, n, stated);
    free(ids);
    traj_line_free(&l);
    json_decref(rec);
    sbuf_free(&err);
    return 0;
}
