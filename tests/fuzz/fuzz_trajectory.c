/*
 * fuzz_trajectory.c - a trajectory line as pare score takes it: parsed as a JSON record, its
 * fields checked (traj_parse_line), its selection checked against a question
 * (traj_check_selected), then measured and rewarded under every scheme (pipeline/trajectory.h).
 * Every reward is a finite number.
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
    static struct traj_rubric_item rubric[] = {
        {RUBRIC_ANSWER, 4, 0, NULL, 0},        {RUBRIC_EVIDENCE, 2, 12, NULL, 0},
        {RUBRIC_EVIDENCE, 2, 14, NULL, 0},     {RUBRIC_NO_EXTRA, 1, 0, allowed, 2},
        {RUBRIC_GROUNDED, 1, 0, answer_at, 1},
    };
    q.ext = "5a8b57f25542995d1e6f1371";
    q.qid = 1;
    q.cand = cand;
    q.nc = 5;
    q.mem = mem;
    q.nm = 2;
    q.golds = json_pack("[s, s]", "Scott Derrickson", "Derrickson");
    q.norm_gold = "scott derrickson";
    q.rubric = rubric;
    q.n_rubric = 5;
    return 0;
}

/* Passages 1 to 100 exist. */
static int exists(void *ud, int64_t id)
{
    (void)ud;
    return id >= 1 && id <= 100;
}

static void score(const struct traj_line *l, const int64_t *ids, int n)
{
    static const struct traj_params p = {3, 0.3, 1, 0.6, 1024, 0.5, 4096};
    char *answer = traj_answer(l);
    struct traj_item it = {0};
    traj_measure(&q, l, answer, ids, n, &it);
    int bucket;
    double target[3];
    traj_buckets(&it, 1, &bucket);
    traj_laser_d_targets(&it, 1, &bucket, target);
    for (int s = 0; s < N_SCHEMES; s++) {
        struct sbuf comp = {0};
        double v = 0;
        traj_components(&it, bucket, &comp);
        if (traj_reward((enum traj_scheme)s, &it, &p, target[bucket], &v, &comp) == 0)
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
        int n = 0;
        int rc = traj_check_selected(l.selected, &q, exists, NULL, &ids, &n, &err);
        if (rc == PARE_OK) score(&l, ids, n);
        free(ids);
    }
    traj_line_free(&l);
    json_decref(rec);
    sbuf_free(&err);
    return 0;
}
