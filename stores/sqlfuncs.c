/* sqlfuncs.c - see sqlfuncs.h. */
#include "stores/sqlfuncs.h"

#ifdef PARE_EXTENSION
SQLITE_EXTENSION_INIT3
#endif

#include <stdlib.h>

#include "stores/blob.h"

/* Per-connection state: a codec whose dictionary cache lives as long as the connection. */
struct text_fn {
    sqlite3 *db;
    struct blob_codec *codec;
    struct sbuf out, err;
};

static int load_dict(void *ud, uint32_t id, struct sbuf *out, struct sbuf *err)
{
    struct text_fn *t = ud;
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(t->db, "SELECT dict FROM zstd_dicts WHERE id = ?1", -1, &s, NULL) !=
        SQLITE_OK) {
        sbuf_setf(err, "cannot read zstd_dicts: %s", sqlite3_errmsg(t->db));
        return PARE_EFAIL;
    }
    int rc = PARE_EFAIL;
    if (sqlite3_bind_int64(s, 1, id) != SQLITE_OK) {
        sbuf_setf(err, "bind: %s", sqlite3_errmsg(t->db));
    } else if (sqlite3_step(s) == SQLITE_ROW) {
        sbuf_add(out, sqlite3_column_blob(s, 0), (size_t)sqlite3_column_bytes(s, 0));
        rc = PARE_OK;
    } else {
        sbuf_setf(err, "zstd dictionary %u is not in zstd_dicts", id);
    }
    sqlite3_finalize(s);
    return rc;
}

static void text_fn_free(void *p)
{
    struct text_fn *t = p;
    blob_codec_free(t->codec);
    sbuf_free(&t->out);
    sbuf_free(&t->err);
    free(t);
}

static void pare_text(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    struct text_fn *t = sqlite3_user_data(ctx);
    int type = sqlite3_value_type(argv[0]);
    if (type == SQLITE_NULL) return; /* result stays NULL */
    if (type != SQLITE_BLOB) {
        sqlite3_result_error(ctx, "pare_text: argument is not a blob", -1);
        return;
    }
    const void *p = sqlite3_value_blob(argv[0]);
    int n = sqlite3_value_bytes(argv[0]);
    if (blob_decompress(t->codec, p, (size_t)n, &t->out, &t->err) != PARE_OK) {
        sqlite3_result_error(ctx, sbuf_str(&t->err), -1);
        return;
    }
    sqlite3_result_text(ctx, sbuf_str(&t->out), (int)t->out.len, SQLITE_TRANSIENT);
}

int sqlfuncs_register(sqlite3 *db, struct sbuf *err)
{
    struct text_fn *t = xcalloc(1, sizeof *t);
    t->db = db;
    t->codec = blob_codec_new(load_dict, t);
    /* sqlite3 calls text_fn_free on failure too, so t is never leaked. */
    int rc = sqlite3_create_function_v2(db, "pare_text", 1, SQLITE_UTF8 | SQLITE_DETERMINISTIC, t,
                                        pare_text, NULL, NULL, text_fn_free);
    if (rc != SQLITE_OK) {
        sbuf_setf(err, "cannot register pare_text: %s", sqlite3_errmsg(db));
        return PARE_EFAIL;
    }
    return PARE_OK;
}
