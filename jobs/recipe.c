/* recipe.c - see recipe.h. libyaml's document API gives a node tree with line marks. */
#include "jobs/recipe.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

/* A pipeline file larger than this is not a pipeline file. */
#define RECIPE_MAX_BYTES (1 << 20)

struct loader {
    const char *path;
    yaml_document_t doc;
    const char *const *commands;
    struct sbuf *err;
};

/* A growable argv, NULL-terminated. */
struct args {
    char **v;
    int n;
    size_t cap;
};

static void args_add(struct args *a, char *s)
{
    xgrow((void **)&a->v, &a->cap, (size_t)a->n + 2, sizeof *a->v);
    a->v[a->n++] = s;
    a->v[a->n] = NULL;
}

static void args_free(struct args *a)
{
    for (int i = 0; i < a->n; i++) free(a->v[i]);
    free(a->v);
    memset(a, 0, sizeof *a);
}

static yaml_node_t *node(struct loader *L, yaml_node_item_t id)
{
    return yaml_document_get_node(&L->doc, id);
}

static int line_of(const yaml_node_t *n)
{
    return (int)n->start_mark.line + 1;
}

static int bad(struct loader *L, const yaml_node_t *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int bad(struct loader *L, const yaml_node_t *n, const char *fmt, ...)
{
    sbuf_setf(L->err, "%s:%d: ", L->path, n ? line_of(n) : 1);
    va_list ap;
    va_start(ap, fmt);
    sbuf_vaddf(L->err, fmt, ap);
    va_end(ap);
    return PARE_EINPUT;
}

/* Expands ${NAME} and ${NAME:-default} from the environment into out. */
static int expand(struct loader *L, const yaml_node_t *n, const char *s, struct sbuf *out)
{
    while (*s) {
        if (s[0] != '$' || s[1] != '{') {
            sbuf_addc(out, *s++);
            continue;
        }
        const char *close = strchr(s + 2, '}');
        if (!close) return bad(L, n, "unterminated ${ in '%.100s'", s);
        const char *name = s + 2, *dflt = strstr(name, ":-");
        size_t len = (size_t)((dflt && dflt < close ? dflt : close) - name);
        int ok = len > 0 && (isalpha((unsigned char)name[0]) || name[0] == '_');
        for (size_t i = 0; i < len; i++) ok &= isalnum((unsigned char)name[i]) || name[i] == '_';
        if (!ok) return bad(L, n, "'${%.*s}' is not a variable name", (int)(close - name), name);
        char *var = xstrndup(name, len);
        const char *v = getenv(var);
        free(var);
        if (v && *v)
            sbuf_adds(out, v);
        else if (dflt && dflt < close)
            sbuf_add(out, dflt + 2, (size_t)(close - dflt - 2));
        else
            return bad(L, n, "${%.*s} is not set (and has no :-default)", (int)len, name);
        s = close + 1;
    }
    return PARE_OK;
}

/* A scalar's value, expanded; PARE_EINPUT when n is not a scalar. */
static int scalar(struct loader *L, const yaml_node_t *n, const char *what, char **out)
{
    *out = NULL;
    if (!n || n->type != YAML_SCALAR_NODE) return bad(L, n, "%s must be a single value", what);
    struct sbuf b = {0};
    int rc = expand(L, n, (const char *)n->data.scalar.value, &b);
    if (rc == PARE_OK)
        *out = sbuf_detach(&b);
    else
        sbuf_free(&b);
    return rc;
}

/* A plain (unquoted) scalar spelled as one of YAML's booleans or nulls: 1 true, 0 false/null. */
static int plain_bool(const yaml_node_t *n)
{
    if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE) return -1;
    const char *v = (const char *)n->data.scalar.value;
    if (!strcmp(v, "true") || !strcmp(v, "True") || !strcmp(v, "yes")) return 1;
    if (!strcmp(v, "false") || !strcmp(v, "False") || !strcmp(v, "no") || !strcmp(v, "null") ||
        !strcmp(v, "~") || !*v)
        return 0;
    return -1;
}

/* Appends an options mapping as --key value (true: --key; false/null: nothing; list: repeated). */
static int add_options(struct loader *L, const yaml_node_t *m, struct args *a)
{
    if (m->type != YAML_MAPPING_NODE) return bad(L, m, "options must be a mapping of key: value");
    for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
        yaml_node_t *k = node(L, p->key), *v = node(L, p->value);
        char *key;
        int rc = scalar(L, k, "an option name", &key);
        if (rc != PARE_OK) return rc;
        struct sbuf flag = {0};
        sbuf_addf(&flag, "--%s", key);
        free(key);
        int b = plain_bool(v);
        if (b >= 0) {
            if (b) args_add(a, sbuf_detach(&flag));
            sbuf_free(&flag);
            continue;
        }
        yaml_node_item_t one[1] = {p->value};
        yaml_node_item_t *it = one, *end = one + 1;
        if (v->type == YAML_SEQUENCE_NODE) {
            it = v->data.sequence.items.start;
            end = v->data.sequence.items.top;
        }
        for (; it < end && rc == PARE_OK; it++) {
            char *val;
            rc = scalar(L, node(L, *it), flag.p, &val);
            if (rc != PARE_OK) break;
            if (!*val) { /* ${VAR:-} with VAR unset: the option is left out */
                free(val);
                continue;
            }
            args_add(a, xstrdup(flag.p));
            args_add(a, val);
        }
        sbuf_free(&flag);
        if (rc != PARE_OK) return rc;
    }
    return PARE_OK;
}

/* Appends a scalar or a list of scalars (positional arguments, paths). */
static int add_values(struct loader *L, const yaml_node_t *v, const char *what, struct args *a)
{
    if (v->type == YAML_SCALAR_NODE) {
        char *s;
        int rc = scalar(L, v, what, &s);
        if (rc == PARE_OK) args_add(a, s);
        return rc;
    }
    if (v->type != YAML_SEQUENCE_NODE) return bad(L, v, "%s must be a value or a list", what);
    for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top;
         it++) {
        char *s;
        int rc = scalar(L, node(L, *it), what, &s);
        if (rc != PARE_OK) return rc;
        args_add(a, s);
    }
    return PARE_OK;
}

/* The value of key in mapping m, or NULL. */
static yaml_node_t *get(struct loader *L, const yaml_node_t *m, const char *key)
{
    for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
        yaml_node_t *k = node(L, p->key);
        if (k && k->type == YAML_SCALAR_NODE && strcmp((char *)k->data.scalar.value, key) == 0)
            return node(L, p->value);
    }
    return NULL;
}

/* Refuses keys outside `known` (a misspelt key would otherwise be ignored silently). */
static int only_keys(struct loader *L, const yaml_node_t *m, const char *const *known,
                     const char *where)
{
    for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
        yaml_node_t *k = node(L, p->key);
        if (!k || k->type != YAML_SCALAR_NODE) return bad(L, k, "%s: keys must be names", where);
        int ok = 0;
        for (const char *const *q = known; *q && !ok; q++)
            ok = strcmp((char *)k->data.scalar.value, *q) == 0;
        if (!ok) return bad(L, k, "%s: unknown key '%s'", where, (char *)k->data.scalar.value);
    }
    return PARE_OK;
}

/* One input: the arguments of its `pare ingest` after the command name. */
static int load_input(struct loader *L, const yaml_node_t *m, struct args *a)
{
    static const char *const known[] = {"format", "path", "paths", "dataset", "options", NULL};
    if (m->type != YAML_MAPPING_NODE) return bad(L, m, "an input must be a mapping (format, path)");
    int rc = only_keys(L, m, known, "input");
    yaml_node_t *fmt = get(L, m, "format"), *path = get(L, m, "path");
    yaml_node_t *paths = get(L, m, "paths"), *ds = get(L, m, "dataset");
    yaml_node_t *opts = get(L, m, "options");
    if (rc == PARE_OK && !fmt) rc = bad(L, m, "input: format is missing");
    if (rc == PARE_OK && !path == !paths) rc = bad(L, m, "input: give path or paths (one)");
    char *s = NULL;
    if (rc == PARE_OK && (rc = scalar(L, fmt, "format", &s)) == PARE_OK) {
        args_add(a, xstrdup("--format"));
        args_add(a, s);
    }
    if (rc == PARE_OK && ds && (rc = scalar(L, ds, "dataset", &s)) == PARE_OK) {
        args_add(a, xstrdup("--dataset"));
        args_add(a, s);
    }
    if (rc == PARE_OK && opts) rc = add_options(L, opts, a);
    if (rc == PARE_OK) rc = add_values(L, path ? path : paths, "path", a);
    return rc;
}

static int known_command(struct loader *L, const char *c)
{
    for (const char *const *q = L->commands; *q; q++)
        if (strcmp(*q, c) == 0) return 1;
    return 0;
}

/* The stage's name and command, from a bare name or a mapping. */
static int stage_names(struct loader *L, const yaml_node_t *n, struct recipe_stage *s)
{
    static const char *const known[] = {"name", "command", "options", "args", NULL};
    int rc = PARE_OK;
    if (n->type == YAML_SCALAR_NODE) {
        rc = scalar(L, n, "a stage", &s->name);
    } else if (n->type == YAML_MAPPING_NODE) {
        rc = only_keys(L, n, known, "stage");
        yaml_node_t *name = get(L, n, "name"), *cmd = get(L, n, "command");
        if (rc == PARE_OK && !name && !cmd) rc = bad(L, n, "stage: name or command is missing");
        if (rc == PARE_OK && name) rc = scalar(L, name, "name", &s->name);
        if (rc == PARE_OK && cmd) rc = scalar(L, cmd, "command", &s->command);
    } else {
        rc = bad(L, n, "a stage must be a name or a mapping (name, command, options, args)");
    }
    if (rc != PARE_OK) return rc;
    if (!s->name) s->name = xstrdup(s->command);
    if (!s->command) s->command = xstrdup(s->name);
    if (!known_command(L, s->command))
        return bad(L, n, "unknown command '%s' for stage '%s'", s->command, s->name);
    return PARE_OK;
}

static void add_step(struct recipe_stage *s, struct args *a)
{
    s->steps = xrealloc(s->steps, ((size_t)s->n_steps + 1) * sizeof *s->steps);
    s->steps[s->n_steps].argv = a->v;
    s->steps[s->n_steps].argc = a->n;
    s->n_steps++;
    memset(a, 0, sizeof *a);
}

/* A stage and its steps: one per input for an ingest stage without args, else one. */
static int load_stage(struct loader *L, const yaml_node_t *n, const yaml_node_t *inputs,
                      struct recipe_stage *s)
{
    int rc = stage_names(L, n, s);
    if (rc != PARE_OK) return rc;
    s->line = line_of(n);
    yaml_node_t *opts = n->type == YAML_MAPPING_NODE ? get(L, n, "options") : NULL;
    yaml_node_t *pos = n->type == YAML_MAPPING_NODE ? get(L, n, "args") : NULL;
    int per_input = strcmp(s->command, "ingest") == 0 && !pos;
    if (per_input && (!inputs || inputs->type != YAML_SEQUENCE_NODE))
        return bad(L, n, "stage '%s' has no args and the file has no inputs list", s->name);
    yaml_node_item_t *it = per_input ? inputs->data.sequence.items.start : NULL;
    yaml_node_item_t *end = per_input ? inputs->data.sequence.items.top : NULL;
    do {
        struct args a = {0};
        args_add(&a, xstrdup(s->command));
        if (per_input && it < end) rc = load_input(L, node(L, *it), &a);
        if (rc == PARE_OK && opts) rc = add_options(L, opts, &a);
        if (rc == PARE_OK && pos) rc = add_values(L, pos, "args", &a);
        if (rc != PARE_OK) {
            args_free(&a);
            return rc;
        }
        add_step(s, &a);
    } while (per_input && ++it < end);
    return PARE_OK;
}

static int load_root(struct loader *L, struct recipe *r)
{
    static const char *const known[] = {"db", "inputs", "stages", NULL};
    yaml_node_t *root = yaml_document_get_root_node(&L->doc);
    if (!root || root->type != YAML_MAPPING_NODE)
        return bad(L, root, "a pipeline file is a mapping with stages (and db, inputs)");
    int rc = only_keys(L, root, known, "pipeline");
    yaml_node_t *db = get(L, root, "db"), *inputs = get(L, root, "inputs");
    yaml_node_t *stages = get(L, root, "stages");
    if (rc == PARE_OK && db) rc = scalar(L, db, "db", &r->db);
    if (rc == PARE_OK && (!stages || stages->type != YAML_SEQUENCE_NODE))
        rc = bad(L, stages ? stages : root, "stages must be a list");
    if (rc == PARE_OK && inputs && inputs->type != YAML_SEQUENCE_NODE)
        rc = bad(L, inputs, "inputs must be a list");
    if (rc != PARE_OK) return rc;
    size_t n = (size_t)(stages->data.sequence.items.top - stages->data.sequence.items.start);
    if (n == 0) return bad(L, stages, "stages is empty");
    r->stages = xcalloc(n, sizeof *r->stages);
    for (size_t i = 0; i < n && rc == PARE_OK; i++) {
        yaml_node_t *sn = node(L, stages->data.sequence.items.start[i]);
        rc = load_stage(L, sn, inputs, &r->stages[i]);
        r->n_stages = (int)i + 1;
        for (int k = 0; rc == PARE_OK && k < (int)i; k++)
            if (strcmp(r->stages[k].name, r->stages[i].name) == 0)
                rc = bad(L, sn, "stage name '%s' is used twice (give one a name:)",
                         r->stages[i].name);
    }
    return rc;
}

int recipe_load(const char *path, const char *const *commands, struct recipe *r, struct sbuf *err)
{
    memset(r, 0, sizeof *r);
    struct sbuf text = {0};
    if (read_file(path, &text, err) != PARE_OK) return PARE_EFAIL;
    if (text.len > RECIPE_MAX_BYTES) {
        sbuf_setf(err, "%s:1: larger than %d bytes: not a pipeline file", path, RECIPE_MAX_BYTES);
        sbuf_free(&text);
        return PARE_EINPUT;
    }
    struct loader L;
    memset(&L, 0, sizeof L);
    L.path = path;
    L.commands = commands;
    L.err = err;
    yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser)) abort(); /* out of memory */
    yaml_parser_set_input_string(&parser, (const unsigned char *)sbuf_str(&text), text.len);
    int rc;
    if (!yaml_parser_load(&parser, &L.doc)) {
        sbuf_setf(err, "%s:%zu: %s", path, parser.problem_mark.line + 1,
                  parser.problem ? parser.problem : "malformed YAML");
        rc = PARE_EINPUT;
    } else {
        r->path = xstrdup(path);
        rc = load_root(&L, r);
        yaml_document_delete(&L.doc);
    }
    yaml_parser_delete(&parser);
    sbuf_free(&text);
    if (rc != PARE_OK) recipe_free(r);
    return rc;
}

void recipe_free(struct recipe *r)
{
    for (int i = 0; i < r->n_stages; i++) {
        struct recipe_stage *s = &r->stages[i];
        for (int k = 0; k < s->n_steps; k++) {
            struct args a = {s->steps[k].argv, s->steps[k].argc, 0};
            args_free(&a);
        }
        free(s->steps);
        free(s->name);
        free(s->command);
    }
    free(r->stages);
    free(r->db);
    free(r->path);
    memset(r, 0, sizeof *r);
}

const struct recipe_stage *recipe_stage(const struct recipe *r, const char *name)
{
    for (int i = 0; i < r->n_stages; i++)
        if (strcmp(r->stages[i].name, name) == 0) return &r->stages[i];
    return NULL;
}
