/*
 * judge_openai.c - Context-Picker's judge against any OpenAI-compatible server: a generator call
 * (POST {OPENAI_BASE_URL}/chat/completions, prompt schemas/judge_answer.txt) answers the
 * question from the subset; the answer is then checked against the gold answers, by SQuAD F1
 * at a threshold (--verify f1) or by a second call (--verify llm, prompt judge_verify.txt,
 * possibly another model, to avoid self-preference). A call that fails after its retries, an
 * answer cut off by the token limit (finish_reason "length") or a reply that is not a chat
 * completion is JUDGE_ERROR.
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
    const char *base_url, *api_key;
    const char *answer_prompt, *verify_prompt;
    struct sbuf url;
    struct jdone *done; /* finished calls waiting for poll */
    int in_flight;      /* calls submitted and not finished */
};

/* One judge call, through one or two HTTP requests. */
struct call {
    void *tag;
    json_t *answers;
    char *question;
    char *answer; /* the generator's answer, once known */
    double t0;
    int verifying;
};

static int oa_init(struct judge *j, struct sbuf *err)
{
    struct oa *o = xcalloc(1, sizeof *o);
    o->base_url = getenv("OPENAI_BASE_URL");
    o->api_key = getenv("OPENAI_API_KEY");
    if (!o->base_url || !*o->base_url) {
        free(o);
        sbuf_setf(err, "set OPENAI_BASE_URL to the server's API root, e.g. http://host:8000/v1");
        return PARE_EUSAGE;
    }
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
    struct http_opts h = {j->o.max_concurrency, j->o.rpm, j->o.tpm, j->o.timeout_s,
                          j->o.max_retries,     0.5,      30.0,     o->api_key};
    if (http_client_new(&h, &o->http, err) != PARE_OK) {
        free(o);
        return PARE_EFAIL;
    }
    sbuf_addf(&o->url, "%s/chat/completions", o->base_url);
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
    sbuf_free(&o->url);
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
    int64_t tokens = (int64_t)(strlen(text) / 4) + j->o.max_tokens;
    http_submit(o->http, http_req_new(o->url.p, text, tokens, c));
    free(text);
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
    for (int i = 0; i < q->n; i++) {
        if (!(mask >> i & 1)) continue;
        sbuf_addf(&user, "<passage id=\"%lld\" title=\"%s\">", (long long)q->p[i].id,
                  q->p[i].title);
        sbuf_add(&user, q->p[i].text, q->p[i].len);
        sbuf_adds(&user, "</passage>\n");
    }
    sbuf_addf(&user, "\nQuestion: %s\nAnswer:", q->question);
    send_chat(j, c, j->o.model, o->answer_prompt, user.p);
    sbuf_free(&user);
    o->in_flight++;
}

char *openai_chat_content(const char *body, size_t len, struct sbuf *err)
{
    json_error_t je;
    json_t *root = json_loadb(body, len, 0, &je);
    json_t *choice = root ? json_array_get(json_object_get(root, "choices"), 0) : NULL;
    json_t *content =
        choice ? json_object_get(json_object_get(choice, "message"), "content") : NULL;
    const char *finish =
        choice ? json_string_value(json_object_get(choice, "finish_reason")) : NULL;
    char *out = NULL;
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

static void finish_call(struct oa *o, struct call *c, int verdict, char *error)
{
    struct jdone *d = xcalloc(1, sizeof *d);
    d->tag = c->tag;
    d->verdict = verdict;
    d->error = error;
    d->answer = c->answer;
    c->answer = NULL;
    d->latency_ms = (now_monotonic() - c->t0) * 1000.0;
    d->next = o->done;
    o->done = d;
    o->in_flight--;
    free_call(c);
}

static struct jdone *oa_poll(struct judge *j, double wait_s)
{
    struct oa *o = j->impl;
    if (!o->done && o->in_flight > 0) {
        struct http_req *r = http_poll(o->http, wait_s);
        while (r) {
            struct http_req *next = r->next;
            struct call *c = r->ud;
            struct sbuf err = {0};
            if (!r->ok) {
                finish_call(o, c, JUDGE_ERROR, xstrdup(r->error ? r->error : "request failed"));
            } else {
                char *text = openai_chat_content(r->resp.p, r->resp.len, &err);
                if (!text) {
                    finish_call(o, c, JUDGE_ERROR, sbuf_detach(&err));
                } else if (!c->verifying) {
                    c->answer = text;
                    if (j->o.verify && strcmp(j->o.verify, "llm") == 0) {
                        c->verifying = 1;
                        char *golds = json_dumps(c->answers, JSON_COMPACT);
                        struct sbuf user = {0};
                        sbuf_addf(&user,
                                  "Question: %s\nReference answers: %s\nCandidate answer: "
                                  "%s\nCorrect?",
                                  c->question, golds ? golds : "[]", text);
                        free(golds);
                        send_chat(j, c, j->o.verify_model ? j->o.verify_model : j->o.model,
                                  o->verify_prompt, user.p);
                        sbuf_free(&user);
                    } else {
                        double f1 = text_f1_any(text, c->answers);
                        finish_call(o, c,
                                    f1 >= j->o.f1_threshold ? JUDGE_SUFFICIENT : JUDGE_INSUFFICIENT,
                                    NULL);
                    }
                } else {
                    struct sbuf norm = {0};
                    text_squad_normalize(text, &norm);
                    int yes = strncmp(norm.p, "yes", 3) == 0, no = strncmp(norm.p, "no", 2) == 0;
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
            }
            sbuf_free(&err);
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
    "openai", oa_init, oa_fini, NULL, NULL, NULL, oa_submit, oa_poll, oa_pending,
};
