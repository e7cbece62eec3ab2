/* jsonfast.c - see jsonfast.h.
 *
 * Two passes. The lexical pass walks the text once, as a strict JSON lexer would, and rejects
 * what cJSON would accept but JSON does not; on the way it reads every number token, because
 * cJSON keeps numbers only as doubles while jansson tells integers (any token without '.', 'e'
 * or 'E') from reals. cJSON then builds the tree, and the conversion gives its n-th number node
 * the n-th token's value: both walk the document in order. */
#define _GNU_SOURCE /* memmem */
#include "common/jsonfast.h"

#include <cjson/cJSON.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

/* A number token: an integer (no fraction, no exponent) or a real, as jansson reads it. */
struct num {
    int is_int;
    json_int_t i;
    double d;
};

struct nums {
    struct num *v;
    size_t n, cap, next;
    struct num inline_v[32]; /* most records have few numbers: no allocation */
};

static int push(struct nums *ns, struct num x)
{
    if (ns->n == ns->cap) {
        size_t cap = ns->cap * 2;
        struct num *v =
            ns->v == ns->inline_v ? malloc(cap * sizeof *v) : realloc(ns->v, cap * sizeof *v);
        if (!v) return -1;
        if (ns->v == ns->inline_v) memcpy(v, ns->inline_v, sizeof ns->inline_v);
        ns->v = v;
        ns->cap = cap;
    }
    ns->v[ns->n++] = x;
    return 0;
}

static int is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

static int is_hex(unsigned char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static int is_blank(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Nonzero when one of the 8 bytes of w needs a look of its own inside a string: a quote, a
 * backslash, a control character or a byte of a multi-byte UTF-8 sequence. (Exact: the
 * zero-byte tests have no false positives on whether some byte matches.) */
static uint64_t special_bytes(uint64_t w)
{
    const uint64_t ones = 0x0101010101010101ull, high = 0x8080808080808080ull;
    uint64_t quote = w ^ (ones * '"'), backslash = w ^ (ones * '\\');
    uint64_t control = (w - ones * 0x20) & ~w;
    return (w | control | ((quote - ones) & ~quote) | ((backslash - ones) & ~backslash)) & high;
}

/* Skips the string starting at p[*i] (its opening quote). Fails (-1) on what JSON forbids in a
 * string (a control character, invalid UTF-8, a bad escape) and on \u0000, which cJSON's C
 * strings cannot hold. */
static int skip_string(const unsigned char *p, size_t len, size_t *i)
{
    size_t j = *i + 1;
    for (;;) {
        /* plain ASCII text sixteen, then eight bytes at a time: a passage is mostly that */
#if defined(__SSE2__)
        while (len - j >= 16) {
            __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(p + j));
            __m128i special = _mm_or_si128(
                _mm_or_si128(_mm_cmpeq_epi8(x, _mm_set1_epi8('"')),
                             _mm_cmpeq_epi8(x, _mm_set1_epi8('\\'))),
                _mm_cmpeq_epi8(_mm_min_epu8(x, _mm_set1_epi8(0x1f)), x));       /* x < 0x20 */
            unsigned m = (unsigned)_mm_movemask_epi8(_mm_or_si128(special, x)); /* or >= 0x80 */
            if (m) {
                j += (size_t)__builtin_ctz(m);
                break;
            }
            j += 16;
        }
#endif
        for (uint64_t w; j + 8 <= len && (memcpy(&w, p + j, 8), !special_bytes(w));) j += 8;
        if (j >= len) return -1;
        unsigned char c = p[j];
        if (c == '"') break;
        if (c == '\\') {
            if (j + 1 >= len) return -1;
            unsigned char e = p[j + 1];
            if (e == 'u') {
                if (j + 6 > len || !is_hex(p[j + 2]) || !is_hex(p[j + 3]) || !is_hex(p[j + 4]) ||
                    !is_hex(p[j + 5]) || memcmp(p + j + 2, "0000", 4) == 0)
                    return -1;
                j += 6;
            } else if (e && strchr("\"\\/bfnrt", e)) {
                j += 2;
            } else {
                return -1;
            }
        } else if (c < 0x20) {
            return -1;
        } else if (c < 0x80) {
            j++;
        } else {
            utf8proc_int32_t cp;
            utf8proc_ssize_t n = utf8proc_iterate(p + j, (utf8proc_ssize_t)(len - j), &cp);
            if (n < 0) return -1;
            j += (size_t)n;
        }
    }
    *i = j + 1;
    return 0;
}

/* Reads the number token at p[*i] by JSON's grammar; its value as jansson would give it. */
static int read_number(const unsigned char *p, size_t len, size_t *i, struct num *out)
{
    size_t j = *i;
    int is_int = 1;
    if (p[j] == '-') j++;
    if (j >= len || !is_digit(p[j])) return -1;
    if (p[j] == '0')
        j++;
    else
        while (j < len && is_digit(p[j])) j++;
    if (j < len && p[j] == '.') {
        is_int = 0;
        if (++j >= len || !is_digit(p[j])) return -1;
        while (j < len && is_digit(p[j])) j++;
    }
    if (j < len && (p[j] == 'e' || p[j] == 'E')) {
        is_int = 0;
        if (++j < len && (p[j] == '+' || p[j] == '-')) j++;
        if (j >= len || !is_digit(p[j])) return -1;
        while (j < len && is_digit(p[j])) j++;
    }
    /* a number ends at a blank or punctuation ("01" and "1x" are not numbers) */
    if (j < len && !is_blank(p[j]) && p[j] != ',' && p[j] != ']' && p[j] != '}') return -1;
    char tok[64];
    if (j - *i >= sizeof tok) return -1; /* long tokens: jansson reads them */
    memcpy(tok, p + *i, j - *i);
    tok[j - *i] = '\0';
    errno = 0;
    out->is_int = is_int;
    if (is_int) {
        out->i = strtoll(tok, NULL, 10);
        if (errno == ERANGE) return -1; /* jansson: "too big integer" */
    } else {
        out->d = strtod(tok, NULL);
        if (errno == ERANGE && isinf(out->d)) return -1; /* jansson: "real number overflow" */
    }
    *i = j;
    return 0;
}

/* The lexical pass: 0 when every token is one JSON allows, the numbers read into ns. */
static int scan(const unsigned char *p, size_t len, struct nums *ns)
{
    size_t i = 0;
    while (i < len) {
        unsigned char c = p[i];
        if (c == '"') {
            if (skip_string(p, len, &i)) return -1;
        } else if (c == '-' || is_digit(c)) {
            struct num x = {0};
            if (read_number(p, len, &i, &x) || push(ns, x)) return -1;
        } else if (is_blank(c) || (c && strchr("{}[],:", c)) || (c >= 'a' && c <= 'z')) {
            i++; /* structure and literals: cJSON checks them */
        } else {
            return -1; /* a control character, a BOM, a byte JSON never has outside strings */
        }
    }
    return 0;
}

/* The jansson value of a cJSON node; NULL on a repeated key, a number without its token, or
 * no memory. */
static json_t *convert(const cJSON *c, struct nums *ns)
{
    if (cJSON_IsString(c)) return json_stringn_nocheck(c->valuestring, strlen(c->valuestring));
    if (cJSON_IsNumber(c)) {
        if (ns->next >= ns->n) return NULL;
        const struct num *x = &ns->v[ns->next++];
        return x->is_int ? json_integer(x->i) : json_real(x->d);
    }
    if (cJSON_IsObject(c) || cJSON_IsArray(c)) {
        int obj = cJSON_IsObject(c);
        json_t *v = obj ? json_object() : json_array();
        size_t n = 0;
        for (const cJSON *k = c->child; v && k; k = k->next) {
            json_t *e = convert(k, ns);
            int bad = !e || (obj ? json_object_set_new_nocheck(v, k->string, e)
                                 : json_array_append_new(v, e));
            if (!bad && obj && json_object_size(v) != ++n) bad = 1; /* a repeated key */
            if (bad) {
                json_decref(v);
                v = NULL;
            }
        }
        return v;
    }
    if (cJSON_IsTrue(c)) return json_true();
    if (cJSON_IsFalse(c)) return json_false();
    if (cJSON_IsNull(c)) return json_null();
    return NULL;
}

/* cJSON's tree of the whole text after the lexical pass (numbers read into ns), or NULL when
 * the pass, cJSON or the blanks after the value reject it. */
static void set_hooks(void);
static pthread_once_t hooks_once = PTHREAD_ONCE_INIT;

static cJSON *parse_checked(const char *text, size_t len, struct nums *ns)
{
    /* every cJSON parse of pare's starts here: the hooks are set before the first, once */
    if (pthread_once(&hooks_once, set_hooks) != 0) abort();
    if (len == 0 || scan((const unsigned char *)text, len, ns) != 0) return NULL;
    const char *end = NULL;
    cJSON *c = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    int rest_blank = c && end;
    for (const char *q = end; rest_blank && q < text + len; q++)
        rest_blank = is_blank((unsigned char)*q);
    if (!rest_blank) {
        cJSON_Delete(c);
        return NULL;
    }
    return c;
}

json_t *jsonfast_loadb(const char *text, size_t len)
{
    struct nums ns = {0};
    ns.v = ns.inline_v;
    ns.cap = sizeof ns.inline_v / sizeof ns.inline_v[0];
    json_t *out = NULL;
    cJSON *c = parse_checked(text, len, &ns);
    if (c) out = convert(c, &ns);
    if (out && ns.next != ns.n) { /* every token must be a number node */
        json_decref(out);
        out = NULL;
    }
    cJSON_Delete(c);
    if (ns.v != ns.inline_v) free(ns.v);
    return out;
}

/*
 * What convert checks without building anything: the number nodes of c, counted into *nums,
 * and 0 when no object repeats a key or has more than JSONFAST_TREE_MAX_MEMBERS members.
 */
static int check_tree(const cJSON *c, size_t *nums)
{
    if (cJSON_IsNumber(c)) {
        ++*nums;
        return 0;
    }
    if (!cJSON_IsObject(c) && !cJSON_IsArray(c)) return 0;
    size_t n = 0;
    for (const cJSON *k = c->child; k; k = k->next, n++) {
        if (cJSON_IsObject(c)) {
            if (n >= JSONFAST_TREE_MAX_MEMBERS) return -1;
            for (const cJSON *e = c->child; e != k; e = e->next)
                if (strcmp(e->string, k->string) == 0) return -1;
        }
        if (check_tree(k, nums)) return -1;
    }
    return 0;
}

cJSON *jsonfast_tree(const char *text, size_t len)
{
    struct nums ns = {0};
    ns.v = ns.inline_v;
    ns.cap = sizeof ns.inline_v / sizeof ns.inline_v[0];
    cJSON *c = parse_checked(text, len, &ns);
    size_t nums = 0;
    if (c && (check_tree(c, &nums) || nums != ns.n)) { /* every token must be a number node */
        cJSON_Delete(c);
        c = NULL;
    }
    if (ns.v != ns.inline_v) free(ns.v);
    return c;
}

/* A block of an arena: bump allocation from data[used] up to data[size]. */
struct jsonfast_block {
    struct jsonfast_block *next;
    size_t used, size;
    max_align_t data[];
};

/* The first block's size (the tree of a 400-byte passage record takes about 1 KiB); each new
 * block is at least twice the last, and a reset keeps the newest, so that an arena reused for
 * records of one kind soon holds each in one block. */
#define ARENA_BLOCK 2048

/* The arena cJSON allocates from on this thread while jsonfast_tree_in parses; NULL at any
 * other time, when the hooks are malloc and free. */
static _Thread_local struct jsonfast_arena *current;

static void *arena_alloc(size_t n)
{
    struct jsonfast_arena *a = current;
    if (!a) return malloc(n);
    n = (n + sizeof(max_align_t) - 1) / sizeof(max_align_t) * sizeof(max_align_t);
    struct jsonfast_block *b = a->head;
    if (!b || b->size - b->used < n) {
        size_t size = b ? 2 * b->size : ARENA_BLOCK;
        if (size < n) size = n;
        b = malloc(sizeof *b + size);
        if (!b) return NULL;
        b->size = size;
        b->used = 0;
        b->next = a->head;
        a->head = b;
    }
    void *p = (char *)b->data + b->used;
    b->used += n;
    return p;
}

/* cJSON frees only what it allocated during the same parse (a failed parse deletes its partial
 * tree): in an arena that waits for the reset. */
static void arena_release(void *p)
{
    if (!current) free(p);
}

/* cJSON's allocator: the arena of the parse under way on this thread, else malloc and free. */
static void set_hooks(void)
{
    cJSON_Hooks h = {arena_alloc, arena_release};
    cJSON_InitHooks(&h);
}

cJSON *jsonfast_tree_in(struct jsonfast_arena *a, const char *text, size_t len)
{
    current = a;
    cJSON *c = jsonfast_tree(text, len);
    current = NULL;
    return c;
}

void jsonfast_arena_reset(struct jsonfast_arena *a)
{
    struct jsonfast_block *b = a->head;
    if (!b) return;
    /* keep the newest block, the largest */
    for (struct jsonfast_block *old = b->next, *next; old; old = next) {
        next = old->next;
        free(old);
    }
    b->next = NULL;
    b->used = 0;
}

void jsonfast_arena_free(struct jsonfast_arena *a)
{
    for (struct jsonfast_block *b = a->head, *next; b; b = next) {
        next = b->next;
        free(b);
    }
    a->head = NULL;
}
