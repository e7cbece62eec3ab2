/*
 * report_impl.h - what the files of the report module share (report.c gathers the mining
 * figures, report_train.c the training-side figures and examples, report_html.c draws the page).
 * Not a public header: other modules include pipeline/report.h.
 */
#ifndef PARE_REPORT_IMPL_H
#define PARE_REPORT_IMPL_H

#include "pipeline/report.h"

/* Ids grouped by a key (question or set id) in 0..n_keys-1: ids[off[k] .. off[k+1]). */
struct idlist {
    int64_t *off, *ids;
    int64_t n_keys, n_ids;
};

/* The example questions chosen while the sets are measured: per dataset, by why. */
struct report_picks {
    int run;         /* the run the picks illustrate (the first with sets there); -1: none */
    int64_t agree_q; /* a minimal set equal to gold (F1 1) */
    int64_t worst_q; /* the minimal set furthest from gold */
    double worst_f1;
    int64_t full_q;      /* a question whose full candidate set was insufficient */
    int64_t other_q[20]; /* further questions with minimal sets, in id order */
    int n_other;
    double f1_agree, f1_other[20];
};

/* State shared by the gathering steps. */
struct gather {
    struct store *st;
    struct report *r;
    const struct report_opts *opts;
    struct sbuf *err;
    int64_t max_qid;
    int *q_ds;                  /* dataset index of each question id (-1: none) */
    struct idlist gold;         /* gold passages of each question (distinct) */
    struct report_picks *picks; /* one per dataset */
};

/* Text of column i as a new string ("" for NULL). */
char *report_col_dup(sqlite3_stmt *s, int i);

/* Index of name in *names, appended when missing. */
int report_intern(char ***names, int *n, const char *name);

/* 1 when table has the column, 0 when not, -1 on a database error. */
int report_has_column(struct store *st, const char *table, const char *column);

/*
 * Checks that the ids of `table` (largest *max_id, `rows` rows) are dense enough to index
 * arrays by id, the way every step reads: at most 16 times the rows plus a million. A negative
 * *max_id becomes 0 (such rows are skipped). Returns PARE_OK, or PARE_EFAIL with g->err set.
 */
int report_dense(struct gather *g, const char *table, int64_t *max_id, int64_t rows);

/* Whether id is in list[0..n). */
int report_has_id(const int64_t *list, int64_t n, int64_t id);

/* The steps of report_gather in report_train.c. Each returns PARE_OK or PARE_EFAIL (g->err). */
int report_negatives(struct gather *g);
int report_rewards(struct gather *g);
int report_difficulty(struct gather *g);
int report_curricula(struct gather *g);
int report_judges(struct gather *g);
int report_examples(struct gather *g);

#endif
