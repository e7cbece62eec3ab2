/*
 * formats.h - dataset adapters: one JSON record of a known dataset format in, one question (with
 * its own context passages and gold flags) or one corpus passage out.
 *
 * Formats: hotpotqa (original and Hugging Face layouts, told apart per record), 2wikimultihopqa,
 * musique, ircot (IRCoT "processed" JSONL), flashrag (corpus records {"id","contents"} and
 * dataset records {"id","question","golden_answers","metadata"}), and generic (keys chosen on
 * the command line).
 *
 * Strings in a qa_record point into the JSON record or into storage the qa_record owns; they are
 * valid until the record is reset and the JSON released.
 */
#ifndef PARE_FORMATS_H
#define PARE_FORMATS_H

#include <jansson.h>
#include <stddef.h>

#include "common/util.h"

enum pare_format {
    FMT_HOTPOTQA,
    FMT_2WIKI,
    FMT_MUSIQUE,
    FMT_IRCOT,
    FMT_FLASHRAG,
    FMT_GENERIC,
};

/* Looks up a --format name (aliases: 2wiki, hotpot). Returns 0, or -1 when unknown. */
int format_from_name(const char *name, enum pare_format *out);
const char *format_name(enum pare_format f);
/* The accepted names, for messages: "hotpotqa, 2wikimultihopqa, ...". */
const char *format_names(void);

/* Keys of the generic format (dotted paths reach into nested objects). */
struct format_keys {
    const char *id, *question, *answers, *type;
    const char *context, *title, *text, *gold;
};

struct qa_passage {
    const char *ext_id; /* the source's id for the passage, or NULL */
    const char *title;
    const char *text;
    size_t text_len;
    int is_gold;
};

enum qa_kind { QA_QUESTION, QA_PASSAGE };

struct qa_record {
    enum qa_kind kind;
    const char *ext_id; /* question id (QA_QUESTION) */
    const char *question;
    json_t *answers;        /* array of distinct non-empty strings: the answer and its aliases */
    const char *qtype;      /* may be NULL */
    json_t *meta;           /* object or NULL */
    struct qa_passage *ctx; /* QA_QUESTION: its context; QA_PASSAGE: ctx[0] is the passage */
    size_t n_ctx, cap_ctx;
    char **owned;
    size_t n_owned, cap_owned;
};

/*
 * Converts one record. Returns PARE_OK, or PARE_EINPUT with what is wrong in err (no file or
 * line: the caller knows them). `out` is reset first; release it with qa_record_reset.
 */
int format_parse(enum pare_format f, const struct format_keys *keys, json_t *rec,
                 struct qa_record *out, struct sbuf *err);

struct cJSON;
/*
 * Converts one record from the cJSON tree of a text that jsonfast_tree vouched for (jansson
 * would read the same value), without building jansson values for it: generic passages and
 * questions, FlashRAG corpus records and IRCoT questions in their usual shapes. Returns 1 when
 * `out` holds exactly what format_parse would give for the same text; 0 when the record is one
 * this reader leaves to format_parse (another format, a number where a string or boolean is
 * usual, a dotted key, or a bad record: format_parse says what is wrong). Strings point into
 * the tree, valid until it is deleted and the record reset.
 */
int format_parse_tree(enum pare_format f, const struct format_keys *keys, const struct cJSON *rec,
                      struct qa_record *out);

/* Frees what a qa_record owns and empties it (keeps the arrays for reuse). */
void qa_record_reset(struct qa_record *r);
void qa_record_free(struct qa_record *r);

#endif
