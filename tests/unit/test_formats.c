/* test_formats.c - every adapter on a small record, and the messages for wrong fields. */
#include "helpers.h"

#include "pipeline/formats.h"

static const struct format_keys keys = {"id",       "question", "answers", "type",
                                        "contexts", "title",    "text",    "is_gold"};

static int parse(enum pare_format f, const char *json, struct qa_record *r, struct sbuf *err)
{
    json_error_t je;
    json_t *j = json_loads(json, 0, &je);
    if (!j) fail_msg("test JSON does not parse: %s", je.text);
    int rc = format_parse(f, &keys, j, r, err);
    /* the record borrows strings from j: keep j alive by stashing it in meta */
    if (!r->meta) r->meta = json_object();
    json_object_set_new(r->meta, "__json", j);
    return rc;
}

static void test_hotpot_original(void **state)
{
    (void)state;
    struct qa_record r = {0};
    struct sbuf err = {0};
    assert_int_equal(
        parse(FMT_HOTPOTQA,
              "{\"_id\":\"q1\",\"question\":\"Who?\",\"answer\":\"Ann\",\"type\":\"bridge\","
              "\"supporting_facts\":[[\"B\",0],[\"B\",1]],"
              "\"context\":[[\"A\",[\"One.\",\" Two.\"]],[\"B\",[\"Ann is.\",\" Here.\"]]]}",
              &r, &err),
        PARE_OK);
    assert_string_equal(r.ext_id, "q1");
    assert_string_equal(r.qtype, "bridge");
    assert_int_equal(r.n_ctx, 2);
    assert_string_equal(r.ctx[0].text, "One. Two."); /* HotpotQA sentences keep their space */
    assert_int_equal(r.ctx[0].is_gold, 0);
    assert_int_equal(r.ctx[1].is_gold, 1);
    assert_int_equal(json_array_size(r.answers), 1);
    qa_record_free(&r);
    sbuf_free(&err);
}

static void test_hotpot_hf_layout_without_id(void **state)
{
    (void)state;
    struct qa_record r = {0}, r2 = {0};
    struct sbuf err = {0};
    const char *rec =
        "{\"question\":\"Same?\",\"answer\":\"yes\","
        "\"supporting_facts\":{\"title\":[\"A\"],\"sent_id\":[0]},"
        "\"context\":{\"title\":[\"A\",\"B\"],\"sentences\":[[\"a\"],[\"b\",\" c\"]]}}";
    assert_int_equal(parse(FMT_HOTPOTQA, rec, &r, &err), PARE_OK);
    assert_int_equal(parse(FMT_HOTPOTQA, rec, &r2, &err), PARE_OK);
    /* a stable id derived from the question, so re-ingesting finds the same question */
    assert_string_equal(r.ext_id, r2.ext_id);
    assert_int_equal(r.ctx[0].is_gold, 1);
    assert_string_equal(r.ctx[1].text, "b c");
    qa_record_free(&r);
    qa_record_free(&r2);
    sbuf_free(&err);
}

static void test_gold_title_missing_from_context(void **state)
{
    (void)state;
    struct qa_record r = {0};
    struct sbuf err = {0};
    assert_int_equal(parse(FMT_HOTPOTQA,
                           "{\"_id\":\"q\",\"question\":\"Q\",\"answer\":\"a\","
                           "\"supporting_facts\":[[\"Nowhere\",0]],\"context\":[[\"A\",[\"x\"]]]}",
                           &r, &err),
                     PARE_EINPUT);
    assert_contains(sbuf_str(&err),
                    "supporting fact title 'Nowhere' is not in the question's context");
    qa_record_free(&r);
    sbuf_free(&err);
}

static void expect_bad(enum pare_format f, const char *json, const char *msg)
{
    struct qa_record r = {0};
    struct sbuf err = {0};
    assert_int_equal(parse(f, json, &r, &err), PARE_EINPUT);
    assert_contains(sbuf_str(&err), msg);
    qa_record_free(&r);
    sbuf_free(&err);
}

/* Issue 15: a sentence index outside its paragraph (999, -1) and HF supporting facts whose
 * title and sent_id lists differ in length were accepted; they are bad records. */
static void test_supporting_facts_point_into_the_context(void **state)
{
    (void)state;
    static const char *const ctx = ",\"context\":[[\"A\",[\"x.\",\"y.\"]],[\"B\",[\"z.\"]]]}";
    static const char *const head = "{\"_id\":\"w\",\"question\":\"Q\",\"answer\":\"a\","
                                    "\"supporting_facts\":";
    struct sbuf j = {0};
    sbuf_setf(&j, "%s[[\"A\",999]]%s", head, ctx);
    expect_bad(FMT_2WIKI, j.p,
               "supporting fact ['A', 999] points to no sentence: that paragraph has 2");
    sbuf_setf(&j, "%s[[\"B\",-1]]%s", head, ctx);
    expect_bad(FMT_2WIKI, j.p, "supporting fact ['B', -1] points to no sentence");
    sbuf_setf(&j, "%s[[\"B\",1]]%s", head, ctx);
    expect_bad(FMT_HOTPOTQA, j.p, "points to no sentence: that paragraph has 1");
    sbuf_setf(&j, "%s[[\"B\",\"0\"]]%s", head, ctx);
    expect_bad(FMT_HOTPOTQA, j.p, "supporting_facts[0] must be [title, sentence index]");
    sbuf_setf(&j, "%s[[\"B\"]]%s", head, ctx);
    expect_bad(FMT_HOTPOTQA, j.p, "supporting_facts[0] must be [title, sentence index]");
    /* the last sentence of each paragraph is fine */
    struct qa_record r = {0};
    struct sbuf err = {0};
    sbuf_setf(&j, "%s[[\"A\",1],[\"B\",0]]%s", head, ctx);
    assert_int_equal(parse(FMT_2WIKI, j.p, &r, &err), PARE_OK);
    assert_true(r.ctx[0].is_gold && r.ctx[1].is_gold);
    qa_record_free(&r);
    /* Hugging Face layout */
    static const char *const hf =
        "{\"question\":\"Q\",\"answer\":\"a\",\"context\":{\"title\":[\"A\","
        "\"B\"],\"sentences\":[[\"x\",\"y\"],[\"z\"]]},\"supporting_facts\":";
    sbuf_setf(&j, "%s{\"title\":[\"A\",\"B\"],\"sent_id\":[0]}}", hf);
    expect_bad(FMT_HOTPOTQA, j.p, "arrays 'title' and 'sent_id' of equal length");
    sbuf_setf(&j, "%s{\"title\":[\"A\"],\"sent_id\":[0,1]}}", hf);
    expect_bad(FMT_HOTPOTQA, j.p, "arrays 'title' and 'sent_id' of equal length");
    sbuf_setf(&j, "%s{\"title\":[\"B\"],\"sent_id\":[3]}}", hf);
    expect_bad(FMT_HOTPOTQA, j.p, "supporting fact ['B', 3] points to no sentence");
    sbuf_setf(&j, "%s{\"title\":[\"A\",\"B\"],\"sent_id\":[1,0]}}", hf);
    assert_int_equal(parse(FMT_HOTPOTQA, j.p, &r, &err), PARE_OK);
    qa_record_free(&r);
    sbuf_free(&j);
    sbuf_free(&err);
}

static void test_2wiki_joins_with_space(void **state)
{
    (void)state;
    struct qa_record r = {0};
    struct sbuf err = {0};
    assert_int_equal(
        parse(FMT_2WIKI,
              "{\"_id\":\"w\",\"question\":\"Q\",\"answer\":\"a\",\"type\":\"compositional\","
              "\"supporting_facts\":[[\"A\",0]],\"context\":[[\"A\",[\"x.\",\"y.\"]]],"
              "\"evidences\":[[\"s\",\"p\",\"o\"]]}",
              &r, &err),
        PARE_OK);
    assert_string_equal(r.ctx[0].text, "x. y.");
    assert_non_null(json_object_get(r.meta, "evidences"));
    qa_record_free(&r);
    sbuf_free(&err);
}

static void test_musique(void **state)
{
    (void)state;
    struct qa_record r = {0};
    struct sbuf err = {0};
    assert_int_equal(parse(FMT_MUSIQUE,
                           "{\"id\":\"3hop1__1_2_3\",\"question\":\"Q\",\"answer\":\"G. Hall\","
                           "\"answer_aliases\":[\"Hall\",\"G. Hall\"],\"answerable\":true,"
                           "\"paragraphs\":[{\"idx\":0,\"title\":\"T\",\"paragraph_text\":\"P\","
                           "\"is_supporting\":true}]}",
                           &r, &err),
                     PARE_OK);
    assert_string_equal(r.qtype, "3hop1");
    assert_int_equal(json_array_size(r.answers), 2); /* duplicates dropped */
    assert_int_equal(r.ctx[0].is_gold, 1);
    qa_record_free(&r);
    sbuf_free(&err);
}

static void test_ircot_answers(void **state)
{
    (void)state;
    struct qa_record r = {0};
    struct sbuf err = {0};
    assert_int_equal(parse(FMT_IRCOT,
                           "{\"question_id\":\"i\",\"question_text\":\"Q\",\"answers_objects\":["
                           "{\"number\":\"\",\"date\":{\"day\":\"\",\"month\":\"\",\"year\":\"\"},"
                           "\"spans\":[\"Chief\"]},{\"number\":\"12\",\"spans\":[]},"
                           "{\"date\":{\"day\":\"3\",\"month\":\"May\",\"year\":\"1990\"}}],"
                           "\"contexts\":[{\"id\":\"0\",\"title\":\"T\",\"paragraph_text\":\"P\","
                           "\"is_supporting\":false}]}",
                           &r, &err),
                     PARE_OK);
    assert_int_equal(json_array_size(r.answers), 3);
    assert_string_equal(json_string_value(json_array_get(r.answers, 2)), "3 May 1990");
    qa_record_free(&r);
    sbuf_free(&err);
}

static void test_flashrag(void **state)
{
    (void)state;
    struct qa_record r = {0};
    struct sbuf err = {0};
    assert_int_equal(
        parse(FMT_FLASHRAG, "{\"id\":\"7\",\"contents\":\"\\\"Ed Wood\\\"\\nEd was.\"}", &r, &err),
        PARE_OK);
    assert_int_equal(r.kind, QA_PASSAGE);
    assert_string_equal(r.ctx[0].title, "Ed Wood");
    assert_string_equal(r.ctx[0].text, "Ed was.");
    /* {id, title, text}: FlashRAG reads text when contents is missing */
    assert_int_equal(
        parse(FMT_FLASHRAG, "{\"id\":8,\"title\":\"Ed Wood\",\"text\":\"Ed was.\"}", &r, &err),
        PARE_OK);
    assert_int_equal(r.kind, QA_PASSAGE);
    assert_string_equal(r.ctx[0].ext_id, "8");
    assert_string_equal(r.ctx[0].title, "Ed Wood");
    assert_string_equal(r.ctx[0].text, "Ed was.");
    assert_int_equal(parse(FMT_FLASHRAG, "{\"id\":\"9\",\"text\":\"No title.\"}", &r, &err),
                     PARE_OK);
    assert_string_equal(r.ctx[0].title, "");
    assert_int_equal(parse(FMT_FLASHRAG, "{\"id\":\"9\",\"title\":\"T\",\"text\":3}", &r, &err),
                     PARE_EINPUT);
    assert_string_equal(err.p, "field 'text' must be a string, got an integer");
    assert_int_equal(parse(FMT_FLASHRAG,
                           "{\"id\":\"q\",\"question\":\"Q\",\"golden_answers\":[\"a\",\"b\"],"
                           "\"metadata\":{\"type\":\"comparison\"}}",
                           &r, &err),
                     PARE_OK);
    assert_int_equal(r.kind, QA_QUESTION);
    assert_int_equal(json_array_size(r.answers), 2);
    assert_string_equal(r.qtype, "comparison");
    qa_record_free(&r);
    sbuf_free(&err);
}

static void test_generic_and_type_errors(void **state)
{
    (void)state;
    struct qa_record r = {0};
    struct sbuf err = {0};
    assert_int_equal(parse(FMT_GENERIC,
                           "{\"id\":5,\"question\":\"Q\",\"answers\":\"a\",\"contexts\":["
                           "{\"title\":\"T\",\"text\":\"x\",\"is_gold\":1},\"plain\"]}",
                           &r, &err),
                     PARE_OK);
    assert_string_equal(r.ext_id, "5");
    assert_int_equal(r.n_ctx, 2);
    assert_int_equal(r.ctx[0].is_gold, 1);
    assert_string_equal(r.ctx[1].text, "plain");

    assert_int_equal(
        parse(FMT_GENERIC, "{\"id\":\"x\",\"question\":5,\"answers\":\"a\"}", &r, &err),
        PARE_EINPUT);
    assert_string_equal(sbuf_str(&err), "field 'question' must be a string, got an integer");
    assert_int_equal(
        parse(FMT_MUSIQUE, "{\"id\":\"x\",\"question\":\"q\",\"paragraphs\":[]}", &r, &err),
        PARE_EINPUT);
    assert_string_equal(sbuf_str(&err), "missing required field 'answer'");
    assert_int_equal(
        parse(FMT_GENERIC, "{\"id\":\"x\",\"question\":\"q\",\"answers\":[]}", &r, &err),
        PARE_EINPUT);
    assert_contains(sbuf_str(&err), "has no answer");
    assert_int_equal(parse(FMT_GENERIC, "{\"foo\":1}", &r, &err), PARE_EINPUT);
    assert_contains(sbuf_str(&err), "neither");
    qa_record_free(&r);
    sbuf_free(&err);
}

static void test_format_names(void **state)
{
    (void)state;
    enum pare_format f;
    assert_int_equal(format_from_name("2wiki", &f), 0);
    assert_int_equal(f, FMT_2WIKI);
    assert_int_equal(format_from_name("squad", &f), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hotpot_original),
        cmocka_unit_test(test_hotpot_hf_layout_without_id),
        cmocka_unit_test(test_gold_title_missing_from_context),
        cmocka_unit_test(test_supporting_facts_point_into_the_context),
        cmocka_unit_test(test_2wiki_joins_with_space),
        cmocka_unit_test(test_musique),
        cmocka_unit_test(test_ircot_answers),
        cmocka_unit_test(test_flashrag),
        cmocka_unit_test(test_generic_and_type_errors),
        cmocka_unit_test(test_format_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
