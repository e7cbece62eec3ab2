/*
 * judge_openai.c - Context-Picker's judge against any OpenAI-compatible server: a generator call
 * (POST {endpoint}/chat/completions over the endpoint pool of common/endpoint.h, prompt
 * schemas/judge_answer.txt) answers the
 * question from the subset; the answer is then checked against the gold answers, by SQuAD F1
 * at a threshold (--verify f1) or by a second call (--verify llm, prompt judge_verify.txt,
 * possibly another model, to avoid self-preference). A call that fails after its retries, an
 * answer cut off by the token limit (finish_reason "length") or a reply that is not a chat
 * completion is JUDGE_ERROR.
 *
 * Tokens: each call's prompt and completion tokens are the sums of the `usage` the server sent
 * with its answers (generator and verifier), kept also for failed calls that had an answer
 * (a cut-off answer cost its tokens); -1 when an answer came without usage. The prompts are
 * built so that a question's calls share long prefixes (see oa_submit).
 */
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "common/embedded.h"
#include "common/http.h"
#include "pipeline/judge_impl.h"
#include "pipeline/judge_openai.h"
#include "common/text.h"

struct oa {
    struct http_client *http;
    const char *answer_prompt, *verify_prompt;
    struct jdone *done; /* finished calls waiting for poll */
    int in_flight;      /* calls submitted and not finished */
    double ratio;       /* most prompt tokens per prompt byte seen (0: none yet) */
};

/* One judge call, through one or two HTTP requests. */
struct call {
    void *tag;
    json_t *answers;
    char *question;
    char *answer; /* the generator's answer, once known */
    double t0;
    int verifying;
    size_t prompt_bytes; /* of the messages sent (system and user text) */
    int64_t ptok, ctok;  /* usage summed over the answers */
    int uncounted;       /* an answer came without usage */
};

static int oa_init(struct judge *j, struct sbuf *err)
{
    struct http_opts h = {0};
    int rc = endpoint_cfg_load(&h.endpoints, NULL, 0, err);
    if (rc != PARE_OK) return rc;
    struct oa *o = xcalloc(1, sizeof *o);
    if (!j->o.model || !*j->o.model) {
        free(o);
        sbuf_setf(err, "the openai judge needs --model");
        return PARE_EUSAGE;
    }
    int llm = j->o.verify && strcmp(j->o.verify, "llm") == 0;
    if (j->o.verify && !llm && strcmp(j->o.verify, "f1") != 0) {
        free(o);
        sbuf_setf(err, "--verify must be f1 or llm");
        return PARE_EUSAGE;
    }
    const struct pare_embedded *a = pare_embedded_find("judge_answer.txt");
    const struct pare_embedded *v = pare_embedded_find("judge_verify.txt");
    if (!a || !v) abort(); /* compiled in */
    o->answer_prompt = a->data;
    o->verify_prompt = v->data;
    h.max_concurrency = j->o.max_concurrency;
    h.rpm = j->o.rpm;
    h.tpm = j->o.tpm;
    h.timeout_s = j->o.timeout_s;
    h.max_retries = j->o.max_retries;
    h.backoff_base_s = 0.5;
    h.backoff_max_s = 30.0;
    rc = http_client_new(&h, &o->http, err);
    if (rc != PARE_OK) {
        free(o);
        return rc;
    }
    sbuf_addf(&j->fingerprint, "openai:%s:p=%016llx:", j->o.model,
              (unsigned long long)XXH3_64bits(a->data, a->len));
    if (llm)
        sbuf_addf(&j->fingerprint, "verify=llm:%s:p=%016llx:max_tokens=%d",
                  j->o.verify_model ? j->o.verify_model : j->o.model,
                  (unsigned long long)XXH3_64bits(v->data, v->len), j->o.max_tokens);
    else
        sbuf_addf(&j->fingerprint, "verify=f1@%.2f:max_tokens=%d", j->o.f1_threshold,
                  j->o.max_tokens);
    j->impl = o;
    return PARE_OK;
}

static void oa_fini(struct judge *j)
{
    struct oa *o = j->impl;
    /* calls still on the wire are dropped with the client; their call states go with them */
    http_client_free(o->http);
    jdone_free(o->done);
    free(o);
}

static void free_call(struct call *c)
{
    json_decref(c->answers);
    free(c->question);
    free(c->answer);
    free(c);
}

static void send_chat(struct judge *j, struct call *c, const char *model, const char *system,
                      const char *user)
{
    struct oa *o = j->impl;
    json_t *body = json_pack("{s:s, s:[{s:s, s:s}, {s:s, s:s}], s:f, s:i}", "model", model,
                             "messages", "role", "system", "content", system, "role", "user",
                             "content", user, "temperature", 0.0, "max_tokens", j->o.max_tokens);
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    if (!text) abort();
    c->prompt_bytes += strlen(system) + strlen(user);
    int64_t tokens = (int64_t)(strlen(text) / 4) + j->o.max_tokens;
    http_submit(o->http, http_req_new("/chat/completions", text, tokens, c));
    free(text);
}

/*
 * The user message of a call: the subset's passages in rank order, then the question. After
 * the fixed system prompt, so that the calls of a question share their prompt up to the first
 * passage left out, which an inference server's prefix cache (vLLM, SGLang) computes once; loo
 * and the cascade leave out the lowest-ranked passages first, which keeps that prefix long.
 */
static void user_prompt(const struct jquestion *q, uint64_t mask, struct sbuf *user)
{
    for (int i = 0; i < q->n; i++) {
        if (!(mask >> i & 1)) continue;
        sbuf_addf(user, "<passage id=\"%lld\" title=\"%s\">", (long long)q->p[i].id, q->p[i].title);
        sbuf_add(user, q->p[i].text, q->p[i].len);
        sbuf_adds(user, "</passage>\n");
    }
    sbuf_addf(user, "\nQuestion: %s\nAnswer:", q->question);
}

static void oa_submit(struct judge *j, struct jquestion *q, uint64_t mask, void *tag)
{
    struct oa *o = j->impl;
    struct call *c = xcalloc(1, sizeof *c);
    c->tag = tag;
    c->answers = json_incref(q->answers);
    c->question = xstrdup(q->question);
    c->t0 = now_monotonic();
    struct sbuf user = {0};
    user_prompt(q, mask, &user);
    send_chat(j, c, j->o.model, o->answer_prompt, user.p);
    sbuf_free(&user);
    o->in_flight++;
}

static int verify_llm(const struct judge *j)
{
    return j->o.verify && strcmp(j->o.verify, "llm") == 0;
}

/* Bytes of the verifier's messages for a question (its answer at most max_tokens * 4 bytes). */
static size_t verify_bytes(const struct judge *j, const struct jquestion *q)
{
    const struct oa *o = j->impl;
    size_t n = strlen(o->verify_prompt) + strlen(q->question) + 96 + 4 * (size_t)j->o.max_tokens;
    for (size_t i = 0; i < json_array_size(q->answers); i++) {
        const char *a = json_string_value(json_array_get(q->answers, i));
        n += (a ? strlen(a) : 0) + 4;
    }
    return n;
}

static int64_t oa_estimate(struct judge *j, const struct jquestion *q, uint64_t mask)
{
    const struct oa *o = j->impl;
    /* the user message's bytes as user_prompt writes them, without building it */
    size_t bytes = strlen(o->answer_prompt) + strlen(q->question) + 32;
    for (int i = 0; i < q->n; i++)
        if (mask >> i & 1) bytes += q->p[i].len + strlen(q->p[i].title) + 48;
    int calls = 1;
    if (verify_llm(j)) {
        bytes += verify_bytes(j, q);
        calls = 2;
    }
    /* a third of a token per byte until the server's counts say more */
    double ratio = o->ratio > 1.0 / 3 ? o->ratio : 1.0 / 3;
    return (int64_t)((double)bytes * ratio) + 1 + (int64_t)calls * j->o.max_tokens;
}

/* The tokens a chat completion's usage counts into *ptok and *ctok, or -1 when it has none. */
static void usage_of(json_t *root, int64_t *ptok, int64_t *ctok)
{
    json_t *u = json_object_get(root, "usage");
    json_t *p = json_object_get(u, "prompt_tokens"), *k = json_object_get(u, "completion_tokens");
    *ptok = *ctok = -1;
    if (!json_is_integer(p) || !json_is_integer(k) || json_integer_value(p) < 0 ||
        json_integer_value(k) < 0)
        return;
    *ptok = json_integer_value(p);
    *ctok = json_integer_value(k);
}

char *openai_chat_content(const char *body, size_t len, int64_t *ptok, int64_t *ctok,
                          struct sbuf *err)
{
    json_error_t je;
    json_t *root = json_loadb(body, len, 0, &je);
    json_t *choice = root ? json_array_get(json_object_get(root, "choices"), 0) : NULL;
    json_t *content =
        choice ? json_object_get(json_object_get(choice, "message"), "content") : NULL;
    const char *finish =
        choice ? json_string_value(json_object_get(choice, "finish_reason")) : NULL;
    char *out = NULL;
    usage_of(root, ptok, ctok);
    if (!root)
        sbuf_setf(err, "server answered malformed JSON: %s", je.text);
    else if (!json_is_string(content))
        sbuf_setf(err, "server answered no message content");
    else if (finish && strcmp(finish, "length") == 0)
        sbuf_setf(err, "the answer was cut off by the token limit (finish_reason length)");
    else {
        /* trim white space and an "Answer:" prefix */
        const char *s = json_string_value(content);
        while (*s == ' ' || *s == '\n' || *s == '\t') s++;
        if (strncmp(s, "Answer:", 7) == 0) s += 7;
        while (*s == ' ') s++;
        size_t n = strlen(s);
        while (n && (s[n - 1] == ' ' || s[n - 1] == '\n' || s[n - 1] == '\t')) n--;
        out = xstrndup(s, n);
    }
    json_decref(root);
    return out;
}

/* The assistant's text from a chat completion, or NULL with err; its usage goes to c. */
static char *chat_content(const struct http_req *r, struct call *c, struct sbuf *err)
{
    int64_t ptok, ctok;
    char *out = openai_chat_content(r->resp.p, r->resp.len, &ptok, &ctok, err);
    if (ptok < 0) {
        c->uncounted = 1;
    } else {
        c->ptok += ptok;
        c->ctok += ctok;
    }
    return out;
}

static void finish_call(struct oa *o, struct call *c, int verdict, char *error)
{
    struct jdone *d = xcalloc(1, sizeof *d);
    d->tag = c->tag;
    d->verdict = verdict;
    d->error = error;
    d->answer = c->answer;
    c->answer = NULL;
    d->latency_ms = (now_monotonic() - c->t0) * 1000.0;
    d->prompt_tokens = c->uncounted ? -1 : c->ptok;
    d->completion_tokens = c->uncounted ? -1 : c->ctok;
    if (!c->uncounted && c->prompt_bytes > 0) {
        double r = (double)c->ptok / (double)c->prompt_bytes;
        if (r > o->ratio) o->ratio = r;
    }
    d->next = o->done;
    o->done = d;
    o->in_flight--;
    free_call(c);
}

/* The generator answered `text` (taken): check it by F1, or ask the verifier. */
static void on_answer(struct judge *j, struct call *c, char *text)
{
    struct oa *o = j->impl;
    c->answer = text;
    if (!verify_llm(j)) {
        double f1 = text_f1_any(text, c->answers);
        finish_call(o, c, f1 >= j->o.f1_threshold ? JUDGE_SUFFICIENT : JUDGE_INSUFFICIENT, NULL);
        return;
    }
    c->verifying = 1;
    char *golds = json_dumps(c->answers, JSON_COMPACT);
    struct sbuf user = {0};
    sbuf_addf(&user, "Question: %s\nReference answers: %s\nCandidate answer: %s\nCorrect?",
              c->question, golds ? golds : "[]", text);
    free(golds);
    send_chat(j, c, j->o.verify_model ? j->o.verify_model : j->o.model, o->verify_prompt, user.p);
    sbuf_free(&user);
}

/* The verifier answered `text` (freed here): yes or no, else the call failed. */
static void on_verdict(struct oa *o, struct call *c, char *text)
{
    struct sbuf norm = {0};
    text_squad_normalize(text, &norm);
    int yes = strncmp(sbuf_str(&norm), "yes", 3) == 0, no = strncmp(sbuf_str(&norm), "no", 2) == 0;
    sbuf_free(&norm);
    if (yes || no) {
        finish_call(o, c, yes ? JUDGE_SUFFICIENT : JUDGE_INSUFFICIENT, NULL);
    } else {
        struct sbuf m = {0};
        sbuf_addf(&m, "the verifier answered neither yes nor no: %.80s", text);
        finish_call(o, c, JUDGE_ERROR, sbuf_detach(&m));
    }
    free(text);
}

/* A finished HTTP request of call r->ud. */
static void on_response(struct judge *j, struct http_req *r)
{
    struct oa *o = j->impl;
    struct call *c = r->ud;
    if (!r->ok) {
        c->uncounted = 1; /* no answer, no usage */
        finish_call(o, c, JUDGE_ERROR, xstrdup(r->error ? r->error : "request failed"));
        return;
    }
    struct sbuf err = {0};
    char *text = chat_content(r, c, &err);
    if (!text)
        finish_call(o, c, JUDGE_ERROR, sbuf_detach(&err));
    else if (!c->verifying)
        on_answer(j, c, text);
    else
        on_verdict(o, c, text);
    sbuf_free(&err);
}

static struct jdone *oa_poll(struct judge *j, double wait_s)
{
    struct oa *o = j->impl;
    if (!o->done && o->in_flight > 0) {
        struct http_req *r = http_poll(o->http, wait_s);
        while (r) {
            struct http_req *next = r->next;
            on_response(j, r);
            http_req_free(r);
            r = next;
        }
    }
    struct jdone *d = o->done;
    o->done = NULL;
    return d;
}

static int oa_pending(const struct judge *j)
{
    const struct oa *o = j->impl;
    return o->in_flight;
}

const struct judge_kind_ops judge_openai_ops = {
    "openai", oa_init, oa_fini, NULL, NULL, NULL, oa_submit, oa_poll, oa_pending, oa_estimate,
};
