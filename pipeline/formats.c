/* formats.c - see formats.h. */
#include "pipeline/formats.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

static const struct {
    const char *name;
    enum pare_format f;
} names[] = {
    {"hotpotqa", FMT_HOTPOTQA}, {"hotpot", FMT_HOTPOTQA}, {"2wikimultihopqa", FMT_2WIKI},
    {"2wiki", FMT_2WIKI},       {"musique", FMT_MUSIQUE}, {"ircot", FMT_IRCOT},
    {"flashrag", FMT_FLASHRAG}, {"generic", FMT_GENERIC},
};

int format_from_name(const char *name, enum pare_format *out)
{
    for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
        if (strcmp(names[i].name, name) == 0) {
            *out = names[i].f;
            return 0;
        }
    }
    return -1;
}

const char *format_name(enum pare_format f)
{
    for (size_t i = 0; i < ARRAY_SIZE(names); i++)
        if (names[i].f == f) return names[i].name;
    return "?";
}

const char *format_names(void)
{
    return "hotpotqa, 2wikimultihopqa, musique, ircot, flashrag, generic";
}

void qa_record_reset(struct qa_record *r)
{
    for (size_t i = 0; i < r->n_owned; i++) free(r->owned[i]);
    r->n_owned = 0;
    r->n_ctx = 0;
    json_decref(r->answers);
    json_decref(r->meta);
    r->answers = r->meta = NULL;
    r->ext_id = r->question = r->qtype = NULL;
    r->kind = QA_QUESTION;
}

void qa_record_free(struct qa_record *r)
{
    qa_record_reset(r);
    free(r->owned);
    free(r->ctx);
    memset(r, 0, sizeof *r);
}

static const char *own(struct qa_record *r, char *s)
{
    xgrow((void **)&r->owned, &r->cap_owned, r->n_owned + 1, sizeof *r->owned);
    r->owned[r->n_owned++] = s;
    return s;
}

static struct qa_passage *add_passage(struct qa_record *r)
{
    xgrow((void **)&r->ctx, &r->cap_ctx, r->n_ctx + 1, sizeof *r->ctx);
    struct qa_passage *p = &r->ctx[r->n_ctx++];
    memset(p, 0, sizeof *p);
    return p;
}

static const char *type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "an object";
    case JSON_ARRAY:
        return "an array";
    case JSON_STRING:
        return "a string";
    case JSON_INTEGER:
        return "an integer";
    case JSON_REAL:
        return "a number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "a boolean";
    case JSON_NULL:
        return "null";
    }
    return "?";
}

/* Looks up a dotted path ("metadata.context") in an object. */
static json_t *lookup(json_t *obj, const char *path)
{
    const char *dot = strchr(path, '.');
    if (!dot) return json_object_get(obj, path);
    char *head = xstrndup(path, (size_t)(dot - path));
    json_t *v = json_object_get(obj, head);
    free(head);
    return json_is_object(v) ? lookup(v, dot + 1) : NULL;
}

/* A required (or optional, when !required) string field. */
static int get_str(json_t *obj, const char *key, int required, const char **out, const char *where,
                   struct sbuf *err)
{
    json_t *v = lookup(obj, key);
    *out = NULL;
    if (!v || json_is_null(v)) {
        if (!required) return PARE_OK;
        sbuf_setf(err, "%smissing required field '%s'", where, key);
        return PARE_EINPUT;
    }
    if (!json_is_string(v)) {
        sbuf_setf(err, "%sfield '%s' must be a string, got %s", where, key, type_name(v));
        return PARE_EINPUT;
    }
    *out = json_string_value(v);
    return PARE_OK;
}

static int get_typed(json_t *obj, const char *key, json_type want, json_t **out, const char *where,
                     struct sbuf *err)
{
    json_t *v = lookup(obj, key);
    if (!v) {
        sbuf_setf(err, "%smissing required field '%s'", where, key);
        return PARE_EINPUT;
    }
    if (json_typeof(v) != want) {
        sbuf_setf(err, "%sfield '%s' must be %s, got %s", where, key,
                  want == JSON_ARRAY ? "an array" : "an object", type_name(v));
        return PARE_EINPUT;
    }
    *out = v;
    return PARE_OK;
}

/* Field `key` as a gold flag: a boolean, or 0/1. Missing means 0. */
static int get_flag(json_t *obj, const char *key, int *out, const char *where, struct sbuf *err)
{
    json_t *v = lookup(obj, key);
    *out = 0;
    if (!v || json_is_null(v)) return PARE_OK;
    if (json_is_boolean(v))
        *out = json_is_true(v);
    else if (json_is_integer(v) && (json_integer_value(v) == 0 || json_integer_value(v) == 1))
        *out = (int)json_integer_value(v);
    else {
        sbuf_setf(err, "%sfield '%s' must be a boolean, got %s", where, key, type_name(v));
        return PARE_EINPUT;
    }
    return PARE_OK;
}

/* Adds an answer string unless empty or already present. */
static void add_answer(struct qa_record *r, const char *a)
{
    if (!a || !*a) return;
    size_t i;
    json_t *v;
    json_array_foreach(r->answers, i, v) if (strcmp(json_string_value(v), a) == 0) return;
    json_array_append_new(r->answers, json_string(a));
}

/* Adds the string(s) of field v (a string or an array of strings) as answers. */
static int add_answers_value(struct qa_record *r, json_t *v, const char *key, struct sbuf *err)
{
    if (!v || json_is_null(v)) return PARE_OK;
    if (json_is_string(v)) {
        add_answer(r, json_string_value(v));
        return PARE_OK;
    }
    if (!json_is_array(v)) goto bad;
    size_t i;
    json_t *a;
    json_array_foreach(v, i, a)
    {
        if (json_is_string(a))
            add_answer(r, json_string_value(a));
        else if (json_is_integer(a) || json_is_real(a)) {
            char *t = json_dumps(a, JSON_ENCODE_ANY);
            if (t) add_answer(r, t);
            free(t);
        } else
            goto bad;
    }
    return PARE_OK;
bad:
    sbuf_setf(err, "field '%s' must be a string or an array of strings, got %s", key, type_name(v));
    return PARE_EINPUT;
}

/* No id (the Hugging Face HotpotQA layout has none): one derived from the question text, so
 * that re-ingesting the file finds the same questions. */
static void derive_id(struct qa_record *r)
{
    XXH64_hash_t h = XXH3_64bits(r->question, strlen(r->question));
    struct sbuf b = {0};
    sbuf_addf(&b, "q%016llx", (unsigned long long)h);
    r->ext_id = own(r, sbuf_detach(&b));
}

static int begin_question(struct qa_record *r, json_t *rec, const char *id_key,
                          const char *question_key, struct sbuf *err)
{
    r->kind = QA_QUESTION;
    r->answers = json_array();
    if (!r->answers) abort();
    if (get_str(rec, question_key, 1, &r->question, "", err)) return PARE_EINPUT;
    if (!*r->question) {
        sbuf_setf(err, "field '%s' is empty", question_key);
        return PARE_EINPUT;
    }
    json_t *id = id_key ? lookup(rec, id_key) : NULL;
    if (id && json_is_string(id) && *json_string_value(id)) {
        r->ext_id = json_string_value(id);
    } else if (id && json_is_integer(id)) {
        struct sbuf b = {0};
        sbuf_addf(&b, "%lld", (long long)json_integer_value(id));
        r->ext_id = own(r, sbuf_detach(&b));
    } else if (id && !json_is_null(id)) {
        sbuf_setf(err, "field '%s' must be a string or an integer, got %s", id_key, type_name(id));
        return PARE_EINPUT;
    } else {
        derive_id(r);
    }
    return PARE_OK;
}

static int end_question(struct qa_record *r, struct sbuf *err)
{
    if (json_array_size(r->answers) == 0) {
        struct sbuf v = {0};
        sbuf_setf(err, "question '%s' has no answer", visible(&v, r->ext_id));
        sbuf_free(&v);
        return PARE_EINPUT;
    }
    return PARE_OK;
}

/* Joins an array of sentence strings. */
static int join_sentences(struct qa_record *r, json_t *sents, const char *sep, struct qa_passage *p,
                          const char *where, struct sbuf *err)
{
    if (!json_is_array(sents)) {
        sbuf_setf(err, "%ssentences must be an array of strings, got %s", where, type_name(sents));
        return PARE_EINPUT;
    }
    struct sbuf b = {0};
    size_t i;
    json_t *s;
    json_array_foreach(sents, i, s)
    {
        if (!json_is_string(s)) {
            sbuf_setf(err, "%ssentence %zu must be a string, got %s", where, i, type_name(s));
            sbuf_free(&b);
            return PARE_EINPUT;
        }
        if (i > 0) sbuf_adds(&b, sep);
        sbuf_add(&b, json_string_value(s), json_string_length(s));
    }
    p->text_len = b.len;
    p->text = own(r, sbuf_detach(&b));
    return PARE_OK;
}

/* A supporting fact: the title of a context paragraph and the index of one of its sentences. */
struct fact {
    const char *title;
    json_int_t sent;
};

/*
 * Marks context passages whose title is among the supporting facts' titles. Every fact must
 * point into the context: its title names a paragraph and its sentence index is one of that
 * paragraph's sentences (n_sent[k] sentences in paragraph k; a title given twice may match
 * either).
 */
static int mark_gold(struct qa_record *r, const size_t *n_sent, const struct fact *facts, size_t n,
                     struct sbuf *err)
{
    for (size_t i = 0; i < n; i++) {
        int found = 0, in_range = 0;
        size_t most = 0;
        for (size_t k = 0; k < r->n_ctx; k++) {
            if (strcmp(r->ctx[k].title, facts[i].title) != 0) continue;
            r->ctx[k].is_gold = 1;
            found = 1;
            if (n_sent[k] > most) most = n_sent[k];
            if (facts[i].sent >= 0 && (size_t)facts[i].sent < n_sent[k]) in_range = 1;
        }
        struct sbuf v = {0};
        if (!found)
            sbuf_setf(err, "supporting fact title '%s' is not in the question's context",
                      visible(&v, facts[i].title));
        else if (!in_range)
            sbuf_setf(err,
                      "supporting fact ['%s', %lld] points to no sentence: that paragraph has %zu",
                      visible(&v, facts[i].title), (long long)facts[i].sent, most);
        sbuf_free(&v);
        if (!found || !in_range) return PARE_EINPUT;
    }
    return PARE_OK;
}

/* Appends a fact after checking its parts: a title string and an integer sentence index. */
static int add_fact(struct fact **facts, size_t *n, size_t *cap, json_t *title, json_t *sent,
                    const char *where, size_t i, struct sbuf *err)
{
    if (!json_is_string(title) || !json_is_integer(sent)) {
        sbuf_setf(err, "%s[%zu] must be [title, sentence index]", where, i);
        return PARE_EINPUT;
    }
    xgrow((void **)facts, cap, *n + 1, sizeof **facts);
    (*facts)[*n].title = json_string_value(title);
    (*facts)[*n].sent = json_integer_value(sent);
    (*n)++;
    return PARE_OK;
}

/*
 * Supporting facts in either layout, into *facts:
 *   original: [[title, sent_id]...]
 *   HF:       {title: [...], sent_id: [...]} (two arrays of equal length)
 * Missing or null: no facts.
 */
static int read_facts(json_t *sf, struct fact **facts, size_t *n, struct sbuf *err)
{
    size_t cap = 0;
    if (!sf || json_is_null(sf)) return PARE_OK;
    if (json_is_array(sf)) {
        size_t i;
        json_t *f;
        json_array_foreach(sf, i, f)
        {
            json_t *t = json_array_size(f) == 2 ? json_array_get(f, 0) : NULL;
            if (add_fact(facts, n, &cap, t, json_array_get(f, 1), "supporting_facts", i, err))
                return PARE_EINPUT;
        }
        return PARE_OK;
    }
    if (!json_is_object(sf)) {
        sbuf_setf(err, "field 'supporting_facts' must be an array or an object, got %s",
                  type_name(sf));
        return PARE_EINPUT;
    }
    json_t *titles = json_object_get(sf, "title"), *sents = json_object_get(sf, "sent_id");
    if (!json_is_array(titles) || !json_is_array(sents) ||
        json_array_size(titles) != json_array_size(sents)) {
        sbuf_setf(err, "supporting_facts must hold arrays 'title' and 'sent_id' of equal length");
        return PARE_EINPUT;
    }
    for (size_t i = 0; i < json_array_size(titles); i++) {
        json_t *t = json_array_get(titles, i), *k = json_array_get(sents, i);
        if (add_fact(facts, n, &cap, t, k, "supporting_facts.title/sent_id", i, err))
            return PARE_EINPUT;
    }
    return PARE_OK;
}

/* One context paragraph: title and sentences, joined; its sentence count into n_sent. */
static int add_paragraph(struct qa_record *r, json_t *title, json_t *sents, const char *sep,
                         size_t **n_sent, size_t *cap, const char *where, struct sbuf *err)
{
    if (!json_is_string(title)) {
        sbuf_setf(err, "%stitle must be a string, got %s", where,
                  title ? type_name(title) : "nothing");
        return PARE_EINPUT;
    }
    struct qa_passage *p = add_passage(r);
    p->title = p->ext_id = json_string_value(title);
    if (join_sentences(r, sents, sep, p, where, err)) return PARE_EINPUT;
    xgrow((void **)n_sent, cap, r->n_ctx, sizeof **n_sent);
    (*n_sent)[r->n_ctx - 1] = json_array_size(sents);
    return PARE_OK;
}

/* The context paragraphs, in either layout (see hotpot_context); sentence counts into n_sent. */
static int read_context(struct qa_record *r, json_t *ctx, const char *sep, size_t **n_sent,
                        struct sbuf *err)
{
    struct sbuf where = {0};
    size_t cap = 0;
    int rc = PARE_OK;
    if (json_is_array(ctx)) {
        size_t i;
        json_t *c;
        json_array_foreach(ctx, i, c)
        {
            sbuf_setf(&where, "context[%zu]: ", i);
            if (!json_is_array(c) || json_array_size(c) != 2 ||
                !json_is_string(json_array_get(c, 0))) {
                sbuf_setf(err, "%smust be [title, [sentences]]", where.p);
                rc = PARE_EINPUT;
                break;
            }
            if ((rc = add_paragraph(r, json_array_get(c, 0), json_array_get(c, 1), sep, n_sent,
                                    &cap, where.p, err)))
                break;
        }
    } else if (json_is_object(ctx)) {
        json_t *titles = json_object_get(ctx, "title");
        json_t *sents = json_object_get(ctx, "sentences");
        if (!json_is_array(titles) || !json_is_array(sents) ||
            json_array_size(titles) != json_array_size(sents)) {
            sbuf_setf(err, "context must hold arrays 'title' and 'sentences' of equal length");
            rc = PARE_EINPUT;
        }
        for (size_t i = 0; rc == PARE_OK && i < json_array_size(titles); i++) {
            sbuf_setf(&where, "context.title[%zu]: ", i);
            rc = add_paragraph(r, json_array_get(titles, i), json_array_get(sents, i), sep, n_sent,
                               &cap, where.p, err);
        }
    } else {
        sbuf_setf(err, "field 'context' must be an array or an object, got %s",
                  ctx ? type_name(ctx) : "nothing");
        rc = PARE_EINPUT;
    }
    sbuf_free(&where);
    if (rc == PARE_OK && r->n_ctx == 0) {
        sbuf_setf(err, "field 'context' is empty");
        rc = PARE_EINPUT;
    }
    return rc;
}

/*
 * HotpotQA-style context and supporting facts, in either layout:
 *   original: context [[title, [sentences]]...], supporting_facts [[title, sent_id]...]
 *   HF:       context {title: [...], sentences: [[...]...]}, supporting_facts {title: [...],
 *             sent_id: [...]}
 */
static int hotpot_context(struct qa_record *r, json_t *ctx, json_t *sf, const char *sep,
                          struct sbuf *err)
{
    size_t *n_sent = NULL, n_facts = 0;
    struct fact *facts = NULL;
    int rc = read_context(r, ctx, sep, &n_sent, err);
    if (rc == PARE_OK) rc = read_facts(sf, &facts, &n_facts, err);
    if (rc == PARE_OK) rc = mark_gold(r, n_sent, facts, n_facts, err);
    free(n_sent);
    free(facts);
    return rc;
}

static void meta_set(struct qa_record *r, const char *key, json_t *v)
{
    if (!v || json_is_null(v)) return;
    if (!r->meta) r->meta = json_object();
    if (!r->meta) abort();
    json_object_set(r->meta, key, v);
}

static int parse_hotpot(json_t *rec, struct qa_record *r, const char *sep, struct sbuf *err)
{
    const char *id_key = json_object_get(rec, "_id") ? "_id" : "id";
    if (begin_question(r, rec, id_key, "question", err)) return PARE_EINPUT;
    const char *answer;
    if (get_str(rec, "answer", 1, &answer, "", err)) return PARE_EINPUT;
    add_answer(r, answer);
    if (add_answers_value(r, json_object_get(rec, "answer_aliases"), "answer_aliases", err))
        return PARE_EINPUT;
    if (get_str(rec, "type", 0, &r->qtype, "", err)) return PARE_EINPUT;
    json_t *ctx = json_object_get(rec, "context");
    if (!ctx) {
        sbuf_setf(err, "missing required field 'context'");
        return PARE_EINPUT;
    }
    if (hotpot_context(r, ctx, json_object_get(rec, "supporting_facts"), sep, err))
        return PARE_EINPUT;
    meta_set(r, "level", json_object_get(rec, "level"));
    meta_set(r, "supporting_facts", json_object_get(rec, "supporting_facts"));
    meta_set(r, "evidences", json_object_get(rec, "evidences"));
    return end_question(r, err);
}

/* Paragraph lists with per-paragraph gold flags (MuSiQue, IRCoT). */
static int paragraphs(struct qa_record *r, json_t *rec, const char *key, const char *text_key,
                      struct sbuf *err)
{
    json_t *arr;
    if (get_typed(rec, key, JSON_ARRAY, &arr, "", err)) return PARE_EINPUT;
    if (json_array_size(arr) == 0) {
        sbuf_setf(err, "field '%s' is empty", key);
        return PARE_EINPUT;
    }
    struct sbuf where = {0};
    size_t i;
    json_t *c;
    int rc = PARE_OK;
    json_array_foreach(arr, i, c)
    {
        sbuf_setf(&where, "%s[%zu]: ", key, i);
        if (!json_is_object(c)) {
            sbuf_setf(err, "%smust be an object, got %s", where.p, type_name(c));
            rc = PARE_EINPUT;
            break;
        }
        struct qa_passage *p = add_passage(r);
        if (get_str(c, "title", 1, &p->title, where.p, err) ||
            get_str(c, text_key, 1, &p->text, where.p, err) ||
            get_flag(c, "is_supporting", &p->is_gold, where.p, err)) {
            rc = PARE_EINPUT;
            break;
        }
        p->text_len = strlen(p->text);
        p->ext_id = p->title;
    }
    sbuf_free(&where);
    return rc;
}

static int parse_musique(json_t *rec, struct qa_record *r, struct sbuf *err)
{
    if (begin_question(r, rec, "id", "question", err)) return PARE_EINPUT;
    const char *answer;
    if (get_str(rec, "answer", 1, &answer, "", err)) return PARE_EINPUT;
    add_answer(r, answer);
    if (add_answers_value(r, json_object_get(rec, "answer_aliases"), "answer_aliases", err))
        return PARE_EINPUT;
    if (paragraphs(r, rec, "paragraphs", "paragraph_text", err)) return PARE_EINPUT;
    /* The hop structure is the id's prefix: "2hop__...", "3hop1__...". */
    const char *sep = strstr(r->ext_id, "__");
    if (sep) r->qtype = own(r, xstrndup(r->ext_id, (size_t)(sep - r->ext_id)));
    meta_set(r, "answerable", json_object_get(rec, "answerable"));
    meta_set(r, "question_decomposition", json_object_get(rec, "question_decomposition"));
    return end_question(r, err);
}

static int parse_ircot(json_t *rec, struct qa_record *r, struct sbuf *err)
{
    if (begin_question(r, rec, "question_id", "question_text", err)) return PARE_EINPUT;
    json_t *objs;
    if (get_typed(rec, "answers_objects", JSON_ARRAY, &objs, "", err)) return PARE_EINPUT;
    size_t i;
    json_t *o;
    json_array_foreach(objs, i, o)
    {
        if (!json_is_object(o)) {
            sbuf_setf(err, "answers_objects[%zu] must be an object", i);
            return PARE_EINPUT;
        }
        if (add_answers_value(r, json_object_get(o, "spans"), "spans", err)) return PARE_EINPUT;
        json_t *num = json_object_get(o, "number");
        if (json_is_string(num)) add_answer(r, json_string_value(num));
        json_t *date = json_object_get(o, "date");
        if (json_is_object(date)) {
            struct sbuf b = {0};
            static const char *const parts[] = {"day", "month", "year"};
            for (size_t k = 0; k < 3; k++) {
                json_t *v = json_object_get(date, parts[k]);
                if (json_is_string(v) && *json_string_value(v)) {
                    if (b.len) sbuf_addc(&b, ' ');
                    sbuf_adds(&b, json_string_value(v));
                }
            }
            if (b.len) add_answer(r, b.p);
            sbuf_free(&b);
        }
    }
    if (get_str(rec, "type", 0, &r->qtype, "", err)) return PARE_EINPUT;
    if (paragraphs(r, rec, "contexts", "paragraph_text", err)) return PARE_EINPUT;
    return end_question(r, err);
}

/* A FlashRAG corpus record {id, title?, text}. */
static int flashrag_title_text(json_t *rec, struct qa_record *r, struct sbuf *err)
{
    struct qa_passage *p = add_passage(r);
    if (get_str(rec, "title", 0, &p->title, "", err) || get_str(rec, "text", 1, &p->text, "", err))
        return PARE_EINPUT;
    if (!p->title) p->title = "";
    p->text_len = strlen(p->text);
    json_t *id = json_object_get(rec, "id");
    if (json_is_string(id)) p->ext_id = json_string_value(id);
    if (json_is_integer(id)) {
        struct sbuf b = {0};
        sbuf_addf(&b, "%lld", (long long)json_integer_value(id));
        p->ext_id = own(r, sbuf_detach(&b));
    }
    return PARE_OK;
}

static int parse_flashrag(json_t *rec, struct qa_record *r, struct sbuf *err)
{
    json_t *contents = json_object_get(rec, "contents");
    if ((contents || json_object_get(rec, "text")) && !json_object_get(rec, "question")) {
        /* corpus record: contents = "title\ntext" (the title sometimes quoted), or, as FlashRAG
         * reads it when contents is missing, {id, title, text} */
        r->kind = QA_PASSAGE;
        const char *c;
        if (!contents) return flashrag_title_text(rec, r, err);
        if (get_str(rec, "contents", 1, &c, "", err)) return PARE_EINPUT;
        struct qa_passage *p = add_passage(r);
        json_t *id = json_object_get(rec, "id");
        if (json_is_string(id))
            p->ext_id = json_string_value(id);
        else if (json_is_integer(id)) {
            struct sbuf b = {0};
            sbuf_addf(&b, "%lld", (long long)json_integer_value(id));
            p->ext_id = own(r, sbuf_detach(&b));
        }
        const char *nl = strchr(c, '\n');
        const char *t0 = c, *t1 = nl ? nl : c;
        if (nl && t1 - t0 >= 2 && *t0 == '"' && t1[-1] == '"') t0++, t1--;
        p->title = own(r, xstrndup(t0, (size_t)(t1 - t0)));
        p->text = nl ? nl + 1 : c;
        p->text_len = strlen(p->text);
        return PARE_OK;
    }
    if (begin_question(r, rec, "id", "question", err)) return PARE_EINPUT;
    json_t *golden = json_object_get(rec, "golden_answers");
    if (!golden) {
        sbuf_setf(err, "missing required field 'golden_answers'");
        return PARE_EINPUT;
    }
    if (add_answers_value(r, golden, "golden_answers", err)) return PARE_EINPUT;
    json_t *md = json_object_get(rec, "metadata");
    if (json_is_object(md)) {
        json_t *t = json_object_get(md, "type");
        if (json_is_string(t)) r->qtype = json_string_value(t);
        json_t *ctx = json_object_get(md, "context");
        if (ctx && hotpot_context(r, ctx, json_object_get(md, "supporting_facts"), "", err))
            return PARE_EINPUT;
        meta_set(r, "metadata_level", json_object_get(md, "level"));
    }
    return end_question(r, err);
}

static int parse_generic(const struct format_keys *k, json_t *rec, struct qa_record *r,
                         struct sbuf *err)
{
    if (!lookup(rec, k->question)) {
        json_t *text = lookup(rec, k->text);
        if (!text) {
            sbuf_setf(err, "record has neither '%s' (a question) nor '%s' (a passage)", k->question,
                      k->text);
            return PARE_EINPUT;
        }
        r->kind = QA_PASSAGE;
        struct qa_passage *p = add_passage(r);
        if (get_str(rec, k->text, 1, &p->text, "", err) ||
            get_str(rec, k->title, 0, &p->title, "", err) ||
            get_str(rec, k->id, 0, &p->ext_id, "", err))
            return PARE_EINPUT;
        if (!p->title) p->title = "";
        p->text_len = strlen(p->text);
        return PARE_OK;
    }
    if (begin_question(r, rec, k->id, k->question, err)) return PARE_EINPUT;
    json_t *ans = lookup(rec, k->answers);
    if (!ans) {
        sbuf_setf(err, "missing required field '%s'", k->answers);
        return PARE_EINPUT;
    }
    if (add_answers_value(r, ans, k->answers, err)) return PARE_EINPUT;
    if (get_str(rec, k->type, 0, &r->qtype, "", err)) return PARE_EINPUT;
    json_t *ctx = lookup(rec, k->context);
    if (ctx && !json_is_null(ctx)) {
        if (!json_is_array(ctx)) {
            sbuf_setf(err, "field '%s' must be an array, got %s", k->context, type_name(ctx));
            return PARE_EINPUT;
        }
        struct sbuf where = {0};
        size_t i;
        json_t *c;
        json_array_foreach(ctx, i, c)
        {
            sbuf_setf(&where, "%s[%zu]: ", k->context, i);
            struct qa_passage *p = add_passage(r);
            int bad = 0;
            if (json_is_string(c)) {
                p->title = "";
                p->text = json_string_value(c);
            } else if (json_is_object(c)) {
                bad = get_str(c, k->text, 1, &p->text, where.p, err) ||
                      get_str(c, k->title, 0, &p->title, where.p, err) ||
                      get_str(c, k->id, 0, &p->ext_id, where.p, err) ||
                      get_flag(c, k->gold, &p->is_gold, where.p, err);
                if (!p->title) p->title = "";
            } else {
                sbuf_setf(err, "%smust be an object or a string, got %s", where.p, type_name(c));
                bad = 1;
            }
            if (bad) {
                sbuf_free(&where);
                return PARE_EINPUT;
            }
            p->text_len = strlen(p->text);
        }
        sbuf_free(&where);
    }
    return end_question(r, err);
}

int format_parse(enum pare_format f, const struct format_keys *keys, json_t *rec,
                 struct qa_record *out, struct sbuf *err)
{
    qa_record_reset(out);
    switch (f) {
    case FMT_HOTPOTQA:
        return parse_hotpot(rec, out, "", err);
    /* 2WikiMultihopQA sentences carry no leading space: join them with one. */
    case FMT_2WIKI:
        return parse_hotpot(rec, out, " ", err);
    case FMT_MUSIQUE:
        return parse_musique(rec, out, err);
    case FMT_IRCOT:
        return parse_ircot(rec, out, err);
    case FMT_FLASHRAG:
        return parse_flashrag(rec, out, err);
    case FMT_GENERIC:
        return parse_generic(keys, rec, out, err);
    }
    sbuf_setf(err, "unknown format");
    return PARE_EUSAGE;
}

/*
 * The same records read from a cJSON tree (jsonfast_tree), for the shapes ingest meets by the
 * million: generic passages and questions, FlashRAG corpus records and IRCoT questions. Each
 * reader below mirrors its jansson counterpart above and gives up (-1) wherever that one would
 * report an error or reads something this one does not (a number, a dotted key); format_parse
 * then reads the record and says what is wrong. tests/fuzz/fuzz_format.c checks that a record
 * read here equals format_parse's.
 */

static const cJSON *tget(const cJSON *obj, const char *key)
{
    return cJSON_GetObjectItemCaseSensitive(obj, key);
}

/* get_str: 0 with *out set (NULL when an optional field is absent or null), -1 on error. */
static int tstr(const cJSON *obj, const char *key, int required, const char **out)
{
    const cJSON *v = tget(obj, key);
    *out = NULL;
    if (!v || cJSON_IsNull(v)) return required ? -1 : 0;
    if (!cJSON_IsString(v)) return -1;
    *out = v->valuestring;
    return 0;
}

/* get_flag for booleans (0 and 1 as numbers are left to format_parse). */
static int tflag(const cJSON *obj, const char *key, int *out)
{
    const cJSON *v = tget(obj, key);
    *out = 0;
    if (!v || cJSON_IsNull(v)) return 0;
    if (!cJSON_IsBool(v)) return -1;
    *out = cJSON_IsTrue(v);
    return 0;
}

/* add_answers_value for strings and arrays of strings. */
static int tanswers(struct qa_record *r, const cJSON *v)
{
    if (!v || cJSON_IsNull(v)) return 0;
    if (cJSON_IsString(v)) {
        add_answer(r, v->valuestring);
        return 0;
    }
    if (!cJSON_IsArray(v)) return -1;
    const cJSON *a;
    cJSON_ArrayForEach(a, v)
    {
        if (!cJSON_IsString(a)) return -1;
        add_answer(r, a->valuestring);
    }
    return 0;
}

/* begin_question for a string id, or none. */
static int tbegin(struct qa_record *r, const cJSON *rec, const char *id_key,
                  const char *question_key)
{
    r->kind = QA_QUESTION;
    r->answers = json_array();
    if (!r->answers) abort();
    if (tstr(rec, question_key, 1, &r->question) || !*r->question) return -1;
    const cJSON *id = tget(rec, id_key);
    if (cJSON_IsString(id) && *id->valuestring)
        r->ext_id = id->valuestring;
    else if (!id || cJSON_IsNull(id))
        derive_id(r);
    else
        return -1;
    return 0;
}

/* paragraphs */
static int tparagraphs(struct qa_record *r, const cJSON *rec, const char *key, const char *text_key)
{
    const cJSON *arr = tget(rec, key), *c;
    if (!cJSON_IsArray(arr) || !arr->child) return -1;
    cJSON_ArrayForEach(c, arr)
    {
        if (!cJSON_IsObject(c)) return -1;
        struct qa_passage *p = add_passage(r);
        if (tstr(c, "title", 1, &p->title) || tstr(c, text_key, 1, &p->text) ||
            tflag(c, "is_supporting", &p->is_gold))
            return -1;
        p->text_len = strlen(p->text);
        p->ext_id = p->title;
    }
    return 0;
}

/* The date of an IRCoT answer object, "day month year" without the empty parts. */
static void tdate(struct qa_record *r, const cJSON *date)
{
    struct sbuf b = {0};
    static const char *const parts[] = {"day", "month", "year"};
    for (size_t k = 0; k < 3; k++) {
        const cJSON *v = tget(date, parts[k]);
        if (cJSON_IsString(v) && *v->valuestring) {
            if (b.len) sbuf_addc(&b, ' ');
            sbuf_adds(&b, v->valuestring);
        }
    }
    if (b.len) add_answer(r, b.p);
    sbuf_free(&b);
}

/* parse_ircot */
static int tircot(const cJSON *rec, struct qa_record *r)
{
    if (tbegin(r, rec, "question_id", "question_text")) return -1;
    const cJSON *objs = tget(rec, "answers_objects"), *o;
    if (!cJSON_IsArray(objs)) return -1;
    cJSON_ArrayForEach(o, objs)
    {
        if (!cJSON_IsObject(o) || tanswers(r, tget(o, "spans"))) return -1;
        const cJSON *num = tget(o, "number"), *date = tget(o, "date");
        if (cJSON_IsString(num)) add_answer(r, num->valuestring);
        if (cJSON_IsObject(date)) tdate(r, date);
    }
    if (tstr(rec, "type", 0, &r->qtype)) return -1;
    if (tparagraphs(r, rec, "contexts", "paragraph_text")) return -1;
    return json_array_size(r->answers) ? 0 : -1;
}

/* The context of a generic question: strings, or objects with the text key. */
static int tgeneric_context(const struct format_keys *k, const cJSON *ctx, struct qa_record *r)
{
    if (!ctx || cJSON_IsNull(ctx)) return 0;
    if (!cJSON_IsArray(ctx)) return -1;
    const cJSON *c;
    cJSON_ArrayForEach(c, ctx)
    {
        struct qa_passage *p = add_passage(r);
        if (cJSON_IsString(c)) {
            p->title = "";
            p->text = c->valuestring;
        } else if (!cJSON_IsObject(c) || tstr(c, k->text, 1, &p->text) ||
                   tstr(c, k->title, 0, &p->title) || tstr(c, k->id, 0, &p->ext_id) ||
                   tflag(c, k->gold, &p->is_gold)) {
            return -1;
        }
        if (!p->title) p->title = "";
        p->text_len = strlen(p->text);
    }
    return 0;
}

/* parse_generic, keys without dots */
static int tgeneric(const struct format_keys *k, const cJSON *rec, struct qa_record *r)
{
    const char *const keys[] = {k->id,      k->question, k->answers, k->type,
                                k->context, k->title,    k->text,    k->gold};
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++)
        if (strchr(keys[i], '.')) return -1;
    if (!tget(rec, k->question)) {
        r->kind = QA_PASSAGE;
        struct qa_passage *p = add_passage(r);
        if (tstr(rec, k->text, 1, &p->text) || tstr(rec, k->title, 0, &p->title) ||
            tstr(rec, k->id, 0, &p->ext_id))
            return -1;
        if (!p->title) p->title = "";
        p->text_len = strlen(p->text);
        return 0;
    }
    const cJSON *ans = tget(rec, k->answers);
    if (tbegin(r, rec, k->id, k->question) || !ans || tanswers(r, ans) ||
        tstr(rec, k->type, 0, &r->qtype) || tgeneric_context(k, tget(rec, k->context), r))
        return -1;
    return json_array_size(r->answers) ? 0 : -1;
}

/* A FlashRAG corpus record with contents "title\ntext" (a string id, or none: ids that are
 * neither strings nor numbers are ignored, as parse_flashrag does). */
static int tflashrag(const cJSON *rec, struct qa_record *r)
{
    const cJSON *contents = tget(rec, "contents"), *id = tget(rec, "id");
    if (!cJSON_IsString(contents) || tget(rec, "question")) return -1;
    if (cJSON_IsNumber(id)) return -1; /* an integer id is written out, a real ignored */
    r->kind = QA_PASSAGE;
    struct qa_passage *p = add_passage(r);
    p->ext_id = cJSON_IsString(id) ? id->valuestring : NULL;
    const char *c = contents->valuestring, *nl = strchr(c, '\n');
    const char *t0 = c, *t1 = nl ? nl : c;
    if (nl && t1 - t0 >= 2 && *t0 == '"' && t1[-1] == '"') t0++, t1--;
    p->title = own(r, xstrndup(t0, (size_t)(t1 - t0)));
    p->text = nl ? nl + 1 : c;
    p->text_len = strlen(p->text);
    return 0;
}

int format_parse_tree(enum pare_format f, const struct format_keys *keys, const struct cJSON *rec,
                      struct qa_record *out)
{
    qa_record_reset(out);
    if (!cJSON_IsObject(rec)) return 0;
    int rc = -1;
    if (f == FMT_IRCOT) rc = tircot(rec, out);
    if (f == FMT_GENERIC) rc = tgeneric(keys, rec, out);
    if (f == FMT_FLASHRAG) rc = tflashrag(rec, out);
    if (rc != 0) qa_record_reset(out);
    return rc == 0;
}
