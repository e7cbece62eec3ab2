/*
 * fuzz_jsonfast.c - jsonfast_loadb against jansson on any bytes: whenever the fast parser
 * returns a value, jansson (JSON_DECODE_ANY | JSON_REJECT_DUPLICATES) accepts the same bytes
 * and returns an equal value of the same types (json_equal tells integers from reals); when
 * jansson rejects the bytes, the fast parser returns NULL.
 */
#include <jansson.h>

#include "common/jsonfast.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_error_t je;
    json_t *fast = jsonfast_loadb((const char *)data, size);
    json_t *ref =
        json_loadb((const char *)data, size, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &je);
    if (fast) CHECK(ref && json_equal(fast, ref));
    if (!ref) CHECK(!fast);
    json_decref(fast);
    json_decref(ref);
    return 0;
}
