/*
 * jsonfast.h - a faster way to the same jansson value.
 *
 * Parsing JSON records with jansson's json_loadb was half of `pare ingest` (its lexer reads a
 * character at a time through a stream and allocates as it goes). cJSON parses a buffer in
 * place several times faster; this module parses with cJSON and converts the tree to jansson
 * values, which the format adapters then read as before.
 *
 * The contract is exact equivalence or nothing: jsonfast_loadb returns a value only when it is
 * the value json_loadb(text, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES) would return (the
 * same types, integers and reals told apart, keys in any order), and NULL for every input it
 * cannot vouch for, which the caller then parses with jansson (so errors keep jansson's
 * messages). Where cJSON is laxer than JSON (a UTF-8 BOM, control characters as blanks or in
 * strings, numbers such as "+1", "01" or "1."), a lexical pass over the text rejects the input
 * first; where cJSON cannot represent the value (a NUL in a string, integers beyond 64 bits,
 * repeated keys), the input is also left to jansson. tests/fuzz/fuzz_jsonfast.c checks the
 * contract on arbitrary bytes.
 */
#ifndef PARE_JSONFAST_H
#define PARE_JSONFAST_H

#include <jansson.h>
#include <stddef.h>

/*
 * The JSON value of text[0..len), as a new reference, or NULL when the input is not valid JSON
 * or is one this parser leaves to jansson (see above). Never reads beyond len.
 */
json_t *jsonfast_loadb(const char *text, size_t len);

/* Objects with more members than this are left to jansson by jsonfast_tree (its check for a
 * repeated key compares every pair). */
#define JSONFAST_TREE_MAX_MEMBERS 64

/*
 * The cJSON tree of text[0..len), for readers that need no jansson value: returned only when
 * jsonfast_loadb would return a value for the same text (so jansson accepts it, the tree has
 * the same strings, arrays, objects and literals, and no object repeats a key), and the input
 * has no object of more than JSONFAST_TREE_MAX_MEMBERS members; NULL otherwise. Numbers are
 * cJSON's doubles, not jansson's integers and reals: a reader that needs a number's exact value
 * must use jsonfast_loadb. Release with cJSON_Delete. Never reads beyond len.
 */
struct cJSON *jsonfast_tree(const char *text, size_t len);

/*
 * Memory for trees that are released together: jsonfast_tree_in allocates a tree's nodes and
 * strings here instead of one malloc each (a passage record is ten allocations, and a record
 * parsed on one thread is freed on another, where glibc's free takes the first arena's lock).
 * Zero-initialise; jsonfast_arena_reset releases every tree allocated in it at once and keeps
 * the first block for reuse; jsonfast_arena_free releases everything.
 */
struct jsonfast_arena {
    struct jsonfast_block *head; /* newest block first */
};

/*
 * jsonfast_tree with the tree's memory in a (same result, same checks). The tree must never be
 * given to cJSON_Delete: it lives until jsonfast_arena_reset or jsonfast_arena_free. Several
 * threads may parse at once, each into its own arena.
 */
struct cJSON *jsonfast_tree_in(struct jsonfast_arena *a, const char *text, size_t len);
void jsonfast_arena_reset(struct jsonfast_arena *a);
void jsonfast_arena_free(struct jsonfast_arena *a);

#endif
