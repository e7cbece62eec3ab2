/*
 * fuzz_jsonfast.c - jsonfast_loadb against jansson on any bytes: whenever the fast parser
 * returns a value, jansson (JSON_DECODE_ANY | JSON_REJECT_DUPLICATES) accepts the same bytes
 * and returns an equal value of the same types (json_equal tells integers from reals); when
 * jansson rejects the bytes, the fast parser returns NULL. jsonfast_tree returns a tree exactly
 * when jsonfast_loadb returns a value and no object has more than JSONFAST_TREE_MAX_MEMBERS
 * members, and the tree holds the same value (numbers compared as doubles), in an arena
 * (jsonfast_tree_in) as with malloc.
 */
#include <cjson/cJSON.h>
#include <jansson.h>
#include <string.h>

#include "common/jsonfast.h"
#include "fuzz.h"

/* The largest number of members of an object in v. */
static size_t max_members(const json_t *v)
{
    size_t m = json_is_object(v) ? json_object_size(v) : 0, i;
    const char *k;
    json_t *e;
    if (json_is_object(v)) json_object_foreach((json_t *)v, k, e)
        {
            size_t x = max_members(e);
            if (x > m) m = x;
        }
    if (json_is_array(v)) json_array_foreach(v, i, e)
        {
            size_t x = max_members(e);
            if (x > m) m = x;
        }
    return m;
}

/* The cJSON tree holds jansson's value. */
static int same_value(const cJSON *c, const json_t *v)
{
    if (cJSON_IsString(c))
        return json_is_string(v) && json_string_length(v) == strlen(c->valuestring) &&
               strcmp(json_string_value(v), c->valuestring) == 0;
    if (cJSON_IsNumber(c)) return json_is_number(v) && json_number_value(v) == c->valuedouble;
    if (cJSON_IsTrue(c)) return json_is_true(v);
    if (cJSON_IsFalse(c)) return json_is_false(v);
    if (cJSON_IsNull(c)) return json_is_null(v);
    size_t n = 0;
    for (const cJSON *k = c->child; k; k = k->next, n++) {
        const json_t *e = cJSON_IsObject(c) ? json_object_get(v, k->string) : json_array_get(v, n);
        if (!e || !same_value(k, e)) return 0;
    }
    return cJSON_IsObject(c) ? json_is_object(v) && json_object_size(v) == n
                             : json_is_array(v) && json_array_size(v) == n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_error_t je;
    json_t *fast = jsonfast_loadb((const char *)data, size);
    json_t *ref =
        json_loadb((const char *)data, size, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &je);
    if (fast) CHECK(ref && json_equal(fast, ref));
    if (!ref) CHECK(!fast);
    cJSON *tree = jsonfast_tree((const char *)data, size);
    if (tree) CHECK(fast && same_value(tree, fast));
    if (fast && max_members(fast) <= JSONFAST_TREE_MAX_MEMBERS) CHECK(tree);
    /* the same in an arena (reused across inputs, as ingest's slots reuse theirs) */
    static struct jsonfast_arena arena;
    cJSON *in_arena = jsonfast_tree_in(&arena, (const char *)data, size);
    CHECK(!in_arena == !tree);
    if (in_arena) CHECK(same_value(in_arena, fast));
    jsonfast_arena_reset(&arena);
    cJSON_Delete(tree);
    json_decref(fast);
    json_decref(ref);
    return 0;
}
