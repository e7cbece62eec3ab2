/*
 * main.c - pare's command table. Each command's logic is in jobs/<name>.c; main only finds the
 * command, sets up the shared context and hands over argv.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "jobs/jobs.h"
#include "common/util.h"

struct command {
    const char *name;
    int (*fn)(struct pare_ctx *ctx, int argc, char **argv);
    const char *summary;
};

static const struct command commands[] = {
    {"init", job_init, "create or migrate a database"},
    {"ingest", job_ingest, "load datasets and corpora (HotpotQA, 2Wiki, MuSiQue, IRCoT, ...)"},
    {"index", job_index, "embed passages and build a FAISS index"},
    {"retrieve", job_retrieve, "find candidate passages for every question"},
    {"mine", job_mine, "mine minimal sufficient evidence sets with a judge"},
    {"augment", job_augment, "build rubrics and negatives from the minimal sets"},
    {"export", job_export, "write sets, rubrics, negatives and verl/OpenRLHF/RRM datasets"},
    {"score", job_score, "reward policy trajectories (cp1, cp2, laser, laser-d, decs, rubric)"},
    {"schedule", job_schedule,
     "rate difficulty and plan a curriculum (sorted, buckets, decs, dapo)"},
    {"eval", job_eval, "measure candidates and evidence sets against gold passages"},
    {"merge", job_merge, "add shard databases (--shard-db) to the main database"},
    {"run", job_run, "run the stages of a pipeline file, skipping work already done"},
    {"report", job_report, "write an HTML page with charts of what the database holds"},
    {"status", job_status, "what the database holds, what ran and how it ended"},
    {"demo", job_demo, "run the pipeline on a generated multi-hop world"},
};

static void usage(FILE *out)
{
    fprintf(out, "usage: pare [--db PATH] [--quiet] COMMAND [options]\n\n"
                 "Mines minimal sufficient evidence sets and builds RL training data for\n"
                 "retrieval-augmented and reasoning language models.\n\ncommands:\n");
    for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
        fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\n`pare COMMAND --help` lists a command's options with their defaults.\n"
                 "The database is --db PATH, else $PARE_DB, else ./pare.db.\n");
}

/*
 * libgomp's idle threads spin between parallel regions (about 300,000 iterations when
 * OMP_WAIT_POLICY is unset) before they sleep. Measured on the scaled HotpotQA file: two thirds
 * of retrieve's CPU time and a sixth of ingest's went to a thread spinning while another wrote
 * to SQLite, and on a loaded machine the spinning thread takes the core the writer needs
 * (passive: retrieve 0.19-0.28 s instead of 0.26-0.53 s, ingest 2.8 s instead of 3.4 s).
 * libgomp reads the policy once, in its initialiser, before main; unless the user chose a
 * policy, pare makes it see OMP_WAIT_POLICY=passive and takes the variable away again in main,
 * so that the programs pare starts do not inherit it.
 *
 * How: an executable's .preinit_array runs after relocation and before every shared library's
 * initialiser. There `environ` is not set yet (libc's initialiser sets it to the envp array
 * that preinit functions also receive), so setenv would be lost; instead passive_preinit
 * lends itself a slot of envp, a variable that no initialiser reads (not OMP_, LD_, locale,
 * TLS or sanitizer settings ...), and main gives the slot back. Without such a slot (an empty
 * environment), passive_omp executes pare again with the variable set, as pare always did
 * before: that second start-up costs about 17 ms a command (loading 48 libraries again).
 */
static char passive_entry[] = "OMP_WAIT_POLICY=passive";
static char *lent_value; /* what the envp slot lent to passive_entry held; NULL: nothing lent */

/* 1 when a library initialiser may read the variable of env entry e (name=value) */
static int read_at_start(const char *e)
{
    static const char *const prefixes[] = {
        "OMP_",   "GOMP_", "KMP_",  "OPENBLAS_", "GOTO_",    "LD_",     "MALLOC_", "GLIBC_",
        "GCONV_", "LANG",  "LC_",   "TZ",        "GNUTLS_",  "OPENSSL", "SSL_",    "P11_",
        "KRB5",   "CURL",  "ASAN_", "UBSAN_",    "LSAN_",    "MSAN_",   "TSAN_",   "PARE_",
        "PATH",   "HOME",  "TMP",   "XDG_",      "POSIXLY_", "NLS",     "LOCPATH", "HOSTALIASES",
    };
    for (size_t i = 0; i < ARRAY_SIZE(prefixes); i++)
        if (strncmp(e, prefixes[i], strlen(prefixes[i])) == 0) return 1;
    return strchr(e, '=') == NULL;
}

static void passive_preinit(int argc, char **argv, char **envp)
{
    (void)argc, (void)argv;
    if (!envp) return;
    char **slot = NULL;
    for (char **e = envp; *e; e++) {
        if (strncmp(*e, "OMP_WAIT_POLICY=", 16) == 0 || strncmp(*e, "GOMP_SPINCOUNT=", 15) == 0)
            return; /* the user chose */
        if (!slot && !read_at_start(*e)) slot = e;
    }
    if (!slot) return; /* nothing to lend */
    lent_value = *slot;
    *slot = passive_entry;
}

__attribute__((section(".preinit_array"),
               used)) static void (*const preinit)(int, char **, char **) = passive_preinit;

/* Gives back the lent slot, in environ as it is now. */
static void give_back(void)
{
    extern char **environ;
    for (char **e = environ; e && *e; e++)
        if (*e == passive_entry) {
            *e = lent_value;
            return;
        }
    /* an initialiser removed the entry: put the variable back */
    const char *eq = strchr(lent_value, '=');
    char *name = strndup(lent_value, (size_t)(eq - lent_value));
    if (name) (void)setenv(name, eq + 1, 1);
    free(name);
}

static void passive_omp(char **argv)
{
    if (lent_value) {
        give_back();
        return;
    }
    if (getenv("PARE_OMP_REEXEC")) {
        unsetenv("PARE_OMP_REEXEC");
        unsetenv("OMP_WAIT_POLICY");
        return;
    }
    if (getenv("OMP_WAIT_POLICY") || getenv("GOMP_SPINCOUNT")) return;
    if (setenv("OMP_WAIT_POLICY", "passive", 1) == 0 && setenv("PARE_OMP_REEXEC", "1", 1) == 0)
        execv("/proc/self/exe", argv);
    unsetenv("OMP_WAIT_POLICY");
    unsetenv("PARE_OMP_REEXEC");
}

int main(int argc, char **argv)
{
    struct pare_ctx ctx = {0};
    const char *env = getenv("PARE_DB");
    if (env && *env) ctx.db_path = env;
    int i = 1;
    /* options before the command: --db PATH, --quiet, --help, --version */
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (strcmp(argv[i], "--version") == 0) {
            printf("pare %s\n", PARE_VERSION);
            return PARE_OK;
        }
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return PARE_OK;
        }
        if (strcmp(argv[i], "--quiet") == 0) {
            ctx.quiet = 1;
        } else if (strcmp(argv[i], "--db") == 0 && i + 1 < argc) {
            ctx.db_path = argv[++i];
        } else if (strncmp(argv[i], "--db=", 5) == 0) {
            ctx.db_path = argv[i] + 5;
        } else {
            fprintf(stderr, "pare: unknown option '%s'\n\n", argv[i]);
            usage(stderr);
            return PARE_EUSAGE;
        }
    }
    if (i >= argc) {
        usage(stderr);
        return PARE_EUSAGE;
    }
    for (size_t c = 0; c < ARRAY_SIZE(commands); c++) {
        if (strcmp(argv[i], commands[c].name) == 0) {
            passive_omp(argv);
            return commands[c].fn(&ctx, argc - i, argv + i);
        }
    }
    fprintf(stderr, "pare: unknown command '%s' (see pare --help)\n", argv[i]);
    return PARE_EUSAGE;
}
