/*
 * judge_impl.h - internal to the judge module (judge*.c): how the three kinds plug in.
 * Not for other modules: they use judge.h.
 */
#ifndef PARE_JUDGE_IMPL_H
#define PARE_JUDGE_IMPL_H

#include "pipeline/judge.h"

struct judge_kind_ops {
    const char *name;
    int (*init)(struct judge *j, struct sbuf *err);
    void (*fini)(struct judge *j);
    int (*prepare)(struct judge *j, struct jquestion *q, struct sbuf *err);
    void (*release)(struct judge *j, struct jquestion *q);
    /* synchronous judges decide at once (async ones leave this NULL) */
    void (*decide)(struct judge *j, struct jquestion *q, uint64_t mask, struct jdone *d);
    /* asynchronous judges */
    void (*submit)(struct judge *j, struct jquestion *q, uint64_t mask, void *tag);
    struct jdone *(*poll)(struct judge *j, double wait_s);
    int (*pending)(const struct judge *j);
    /* judges that count tokens: judge_estimate_tokens (NULL: they count none) */
    int64_t (*estimate)(struct judge *j, const struct jquestion *q, uint64_t mask);
};

struct judge {
    const struct judge_kind_ops *ops;
    struct judge_opts o;
    char *cmd; /* exec: the command */
    struct sbuf fingerprint;
    struct jdone *ready; /* synchronous results waiting for poll */
    int n_ready;
    void *impl; /* the kind's own state */
};

extern const struct judge_kind_ops judge_lexical_ops;
extern const struct judge_kind_ops judge_exec_ops;
extern const struct judge_kind_ops judge_openai_ops;

#endif
