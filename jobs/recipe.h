/*
 * recipe.h - pipeline files for `pare run`: the inputs, the stages in order and their options,
 * as YAML (parsed with libyaml; Debian ships no TOML library for C).
 *
 *   db: pare.db                        # optional; --db on the command line wins
 *   inputs:                            # what the ingest stage loads, one `pare ingest` each
 *     - format: 2wiki
 *       path: ${PARE_DATA:-data}/2wikimultihopqa/dev500.json   # or paths: [a, b]
 *       dataset: 2wiki/dev500          # optional, and so is options: {...}
 *   stages:
 *     - ingest                         # a bare name: the command of that name, no options
 *     - index
 *     - name: retrieve                 # or a mapping: name, command (default: name),
 *       options: {scope: context}      # options (--key value; true: a flag; a list: repeated)
 *     - name: mine-ddmin               # and args (positional arguments, e.g. score's files)
 *       command: mine
 *       options: {method: ddmin}
 *
 * Every scalar may use ${NAME} or ${NAME:-default} from the environment, so one recipe serves
 * a laptop and a cluster; an option whose value expands to nothing is left out. Relative paths are relative to the file's folder (`pare run` works
 * there). Unknown keys, a stage name used twice, an unknown command or an unset variable are
 * bad input: "file:line: what is wrong".
 */
#ifndef PARE_RECIPE_H
#define PARE_RECIPE_H

#include "common/util.h"

/* One invocation of a command: argv[0] is the command, argv[argc] is NULL. */
struct recipe_step {
    char **argv;
    int argc;
};

struct recipe_stage {
    char *name;
    char *command;
    int line;                  /* of the stage in the file (1-based) */
    struct recipe_step *steps; /* ingest: one per input; otherwise one */
    int n_steps;
};

struct recipe {
    char *path;
    char *db; /* the file's db: value (environment expanded), or NULL */
    struct recipe_stage *stages;
    int n_stages;
};

/*
 * Reads and checks a pipeline file. Returns PARE_OK; PARE_EINPUT with "file:line: what" in err
 * for a malformed file; PARE_EFAIL when it cannot be read. `commands` lists the command names a
 * stage may run (NULL-terminated).
 */
int recipe_load(const char *path, const char *const *commands, struct recipe *r, struct sbuf *err);
void recipe_free(struct recipe *r);

/* The stage named name, or NULL. */
const struct recipe_stage *recipe_stage(const struct recipe *r, const char *name);

#endif
