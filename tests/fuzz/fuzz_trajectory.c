/*
 * fuzz_trajectory.c - a trajectory line as pare score takes it: parsed as a JSON record, its
 * fields checked (traj_parse_line, pare's lines and trainers' rollout dumps alike), its selection
 * read (traj_selection), then measured and rewarded under every scheme (pipeline/trajectory.h,
 * pipeline/reward.h). Every reward is a finite number.
 */
#include <math.h>
#include <stdlib.h>

#include "common/reader.h"
#include "fuzz.h"
#include "pipeline/trajectory.h"

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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *rec;
    struct sbuf err = {0};
    if (reader_parse("fuzz", (const char *)data, size, 1, &rec, &err) != READ_RECORD) {
        sbuf_free(&err);
        return 0;
    }
    struct traj_line l = {0};
    if (traj_parse_line(rec, (const char *)data, size, &l, &err) == PARE_OK) {
        int64_t *ids = NULL;
        int n = 0, stated = 0;
        if (traj_selection(&l, &ids, &n, &stated, &err) == PARE_OK) score(&l, ids, n, stated);
        free(ids);
    }
    traj_line_free(&l);
    json_decref(rec);
    sbuf_free(&err);
    return 0;
}
