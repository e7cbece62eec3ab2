/* synth.c - see synth.h. */
#include "pipeline/synth.h"

#include <stdlib.h>
#include <string.h>

/* splitmix64: small, fast, and the same sequence on every platform. */
static uint64_t next(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static uint64_t pick(uint64_t *s, uint64_t n)
{
    return next(s) % n;
}

static const char *const syl[] = {"ka",  "vor", "mi",  "len", "dra", "thi", "sol", "ber", "na",
                                  "quo", "ri",  "sta", "vel", "ou",  "mar", "del", "ion", "ze",
                                  "gal", "fen", "tor", "ly",  "bra", "cen", "mo",  "ash"};

static void name_word(uint64_t *s, struct sbuf *b, int min_syl)
{
    int n = min_syl + (int)pick(s, 2);
    size_t start = b->len;
    for (int i = 0; i < n; i++) sbuf_adds(b, syl[pick(s, ARRAY_SIZE(syl))]);
    b->p[start] = (char)(b->p[start] - 'a' + 'A');
}

enum kind { PERSON, CITY, WORK };

struct entity {
    enum kind kind;
    char *name;
    int year;      /* born, founded, released */
    int city;      /* PERSON: birthplace; WORK: where it is set */
    int creator;   /* WORK: director or author */
    int genre;     /* WORK */
    int job;       /* PERSON */
    int is_film;   /* WORK */
    char *country; /* CITY */
};

static const char *const genres[] = {"drama",       "comedy",  "thriller",
                                     "documentary", "western", "musical"};
static const char *const jobs[] = {"painter",  "film director", "novelist",
                                   "composer", "architect",     "physicist"};

struct world {
    struct entity *e;
    int n;
    int n_people, n_cities, n_works;
};

static void world_build(struct world *w, uint64_t *s, int n_people, int n_cities, int n_works)
{
    w->n = n_people + n_cities + n_works;
    w->n_people = n_people;
    w->n_cities = n_cities;
    w->n_works = n_works;
    w->e = xcalloc((size_t)w->n, sizeof *w->e);
    struct sbuf b = {0};
    char *countries[8];
    for (int i = 0; i < 8; i++) {
        sbuf_reset(&b);
        name_word(s, &b, 2);
        sbuf_adds(&b, "ia");
        countries[i] = sbuf_detach(&b);
    }
    for (int i = 0; i < w->n; i++) {
        struct entity *e = &w->e[i];
        sbuf_reset(&b);
        if (i < n_cities) {
            e->kind = CITY;
            name_word(s, &b, 2);
            e->year = 900 + (int)pick(s, 1000);
            e->country = xstrdup(countries[pick(s, 8)]);
        } else if (i < n_cities + n_people) {
            e->kind = PERSON;
            name_word(s, &b, 1);
            sbuf_addc(&b, ' ');
            name_word(s, &b, 2);
            e->year = 1850 + (int)pick(s, 140);
            e->city = (int)pick(s, (uint64_t)n_cities);
            e->job = (int)pick(s, ARRAY_SIZE(jobs));
        } else {
            e->kind = WORK;
            sbuf_adds(&b, pick(s, 2) ? "The " : "");
            name_word(s, &b, 2);
            sbuf_addc(&b, ' ');
            name_word(s, &b, 1);
            e->is_film = (int)pick(s, 2);
            e->creator = n_cities + (int)pick(s, (uint64_t)n_people);
            e->year = w->e[e->creator].year + 25 + (int)pick(s, 40);
            e->genre = (int)pick(s, ARRAY_SIZE(genres));
            e->city = (int)pick(s, (uint64_t)n_cities);
        }
        /* names must be unique for the questions to have one answer */
        for (int k = 0; k < i; k++)
            if (strcmp(w->e[k].name, b.p) == 0) {
                sbuf_addf(&b, " %c", 'A' + i % 26);
                break;
            }
        e->name = sbuf_detach(&b);
    }
    for (int i = 0; i < 8; i++) free(countries[i]);
}

static void world_free(struct world *w)
{
    for (int i = 0; i < w->n; i++) {
        free(w->e[i].name);
        free(w->e[i].country);
    }
    free(w->e);
}

/* The passage text of entity i. */
static void passage(const struct world *w, int i, struct sbuf *b)
{
    const struct entity *e = &w->e[i];
    sbuf_reset(b);
    switch (e->kind) {
    case CITY:
        sbuf_addf(b,
                  "%s is a city in %s. It was founded in %d and lies on the river %.4sen. "
                  "%s is known for its markets and its old university.",
                  e->name, e->country, e->year, e->name, e->name);
        break;
    case PERSON:
        sbuf_addf(b,
                  "%s (born %d) was a %s. %s was born in %s and worked there for most of "
                  "a long career. Critics praised the work of %s for its precision.",
                  e->name, e->year, jobs[e->job], e->name, w->e[e->city].name, e->name);
        break;
    case WORK:
        sbuf_addf(b,
                  "%s is a %d %s %s %s %s. The story is set in %s. %s received mixed "
                  "reviews on its release.",
                  e->name, e->year, genres[e->genre], e->is_film ? "film" : "novel",
                  e->is_film ? "directed by" : "written by", w->e[e->creator].name,
                  w->e[e->city].name, e->name);
        break;
    }
}

static void json_str(struct sbuf *b, const char *s)
{
    sbuf_addc(b, '"');
    for (; *s; s++) {
        if (*s == '"' || *s == '\\') sbuf_addc(b, '\\');
        sbuf_addc(b, *s);
    }
    sbuf_addc(b, '"');
}

/* One generated question: its text, answer, type and two gold entities. */
struct gen_question {
    struct sbuf q;
    const char *answer, *type;
    int gold[2];
};

/* Draws a question of one of three kinds: bridge (work -> creator -> birthplace), comparison
 * (who was born first) or yes/no comparison (same genre). */
static void draw_question(const struct world *w, uint64_t *s, struct gen_question *g)
{
    int first_person = w->n_cities, first_work = w->n_cities + w->n_people;
    int kind = (int)pick(s, 3);
    sbuf_reset(&g->q);
    if (kind == 0) {
        int wk = first_work + (int)pick(s, (uint64_t)w->n_works);
        const struct entity *e = &w->e[wk];
        g->gold[0] = wk;
        g->gold[1] = e->creator;
        sbuf_addf(&g->q, "In which city was the %s of %s born?", e->is_film ? "director" : "author",
                  e->name);
        g->answer = w->e[w->e[e->creator].city].name;
        g->type = "bridge";
    } else if (kind == 1) {
        g->gold[0] = first_person + (int)pick(s, (uint64_t)w->n_people);
        do g->gold[1] = first_person + (int)pick(s, (uint64_t)w->n_people);
        while (g->gold[1] == g->gold[0] || w->e[g->gold[1]].year == w->e[g->gold[0]].year);
        const struct entity *a = &w->e[g->gold[0]], *b = &w->e[g->gold[1]];
        sbuf_addf(&g->q, "Who was born first, %s or %s?", a->name, b->name);
        g->answer = a->year < b->year ? a->name : b->name;
        g->type = "comparison";
    } else {
        g->gold[0] = first_work + (int)pick(s, (uint64_t)w->n_works);
        do g->gold[1] = first_work + (int)pick(s, (uint64_t)w->n_works);
        while (g->gold[1] == g->gold[0]);
        const struct entity *a = &w->e[g->gold[0]], *b = &w->e[g->gold[1]];
        sbuf_addf(&g->q, "Are %s and %s of the same genre?", a->name, b->name);
        g->answer = a->genre == b->genre ? "yes" : "no";
        g->type = "comparison";
    }
}

/* The context of a question: its gold entities and distinct distractors, shuffled. */
static void draw_context(const struct world *w, uint64_t *s, const int gold[2], int *ctx, int n_ctx)
{
    int n = 0;
    for (int g = 0; g < 2; g++) ctx[n++] = gold[g];
    while (n < n_ctx) {
        int d = (int)pick(s, (uint64_t)w->n), dup = 0;
        for (int k = 0; k < n; k++) dup |= ctx[k] == d;
        if (!dup) ctx[n++] = d;
    }
    for (int k = n - 1; k > 0; k--) {
        int j = (int)pick(s, (uint64_t)k + 1), t = ctx[k];
        ctx[k] = ctx[j];
        ctx[j] = t;
    }
}

/* The generic-format JSON line of question number qi. */
static void question_line(const struct world *w, int qi, const struct gen_question *g,
                          const int *ctx, int n, struct sbuf *text, struct sbuf *line)
{
    sbuf_reset(line);
    sbuf_addf(line, "{\"id\":\"demo-%05d\",\"question\":", qi);
    json_str(line, g->q.p);
    sbuf_adds(line, ",\"answers\":[");
    json_str(line, g->answer);
    sbuf_addf(line, "],\"type\":\"%s\",\"contexts\":[", g->type);
    for (int k = 0; k < n; k++) {
        passage(w, ctx[k], text);
        sbuf_adds(line, k ? ",{\"title\":" : "{\"title\":");
        json_str(line, w->e[ctx[k]].name);
        sbuf_adds(line, ",\"text\":");
        json_str(line, text->p);
        sbuf_addf(line, ",\"is_gold\":%s}",
                  ctx[k] == g->gold[0] || ctx[k] == g->gold[1] ? "true" : "false");
    }
    sbuf_adds(line, "]}\n");
}

int synth_questions(FILE *f, const struct synth_opts *o)
{
    uint64_t s = o->seed;
    struct world w;
    world_build(&w, &s, o->n_questions / 2 + 20, o->n_questions / 8 + 10, o->n_questions / 2 + 20);
    struct gen_question g = {0};
    struct sbuf line = {0}, text = {0};
    int n_ctx = o->n_context < 2 ? 2 : o->n_context;
    int *ctx = xmalloc(sizeof(int) * (size_t)n_ctx);
    int rc = PARE_OK;
    for (int qi = 0; qi < o->n_questions && rc == PARE_OK; qi++) {
        draw_question(&w, &s, &g);
        draw_context(&w, &s, g.gold, ctx, n_ctx);
        question_line(&w, qi, &g, ctx, n_ctx, &text, &line);
        if (fwrite(line.p, 1, line.len, f) != line.len) rc = PARE_EFAIL;
    }
    free(ctx);
    sbuf_free(&line);
    sbuf_free(&text);
    sbuf_free(&g.q);
    world_free(&w);
    return rc;
}

int synth_corpus(FILE *f, uint64_t n, uint64_t seed, int tsv)
{
    uint64_t s = seed;
    struct world w;
    world_build(&w, &s, 2000, 300, 2000);
    struct sbuf line = {0}, text = {0};
    int rc = PARE_OK;
    for (uint64_t i = 0; i < n && rc == PARE_OK; i++) {
        int e = (int)(i % (uint64_t)w.n), e2 = (int)pick(&s, (uint64_t)w.n);
        /* two entity descriptions make a passage of HotpotQA's typical length (~500 bytes);
         * a serial number in title and text keeps every row distinct */
        struct sbuf more = {0};
        passage(&w, e2, &more);
        passage(&w, e, &text);
        sbuf_addf(&text, " See also: %s Record %llu of the archive.", more.p,
                  (unsigned long long)i);
        sbuf_free(&more);
        sbuf_reset(&line);
        if (tsv) {
            sbuf_addf(&line, "p%llu\t%s %llu\t%s\n", (unsigned long long)i, w.e[e].name,
                      (unsigned long long)i, text.p);
        } else {
            sbuf_addf(&line,
                      "{\"id\":\"p%llu\",\"title\":\"%s %llu\",\"text\":", (unsigned long long)i,
                      w.e[e].name, (unsigned long long)i);
            json_str(&line, text.p);
            sbuf_adds(&line, "}\n");
        }
        if (fwrite(line.p, 1, line.len, f) != line.len) rc = PARE_EFAIL;
    }
    sbuf_free(&line);
    sbuf_free(&text);
    world_free(&w);
    return rc;
}
