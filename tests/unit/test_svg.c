/* test_svg.c - escaping for HTML and SVG, round axis scales, and the marks charts draw. */
#include "helpers.h"

#include <math.h>

#include "common/svg.h"

/* Occurrences of needle in hay. */
static int count(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle)) n++;
    return n;
}

static void test_escape(void **state)
{
    (void)state;
    struct sbuf b = {0};
    svg_escape(&b, "<a href=\"x\">&'</a>");
    assert_string_equal(b.p, "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;");
    /* control characters go, tab and newline stay; invalid UTF-8 becomes U+FFFD */
    sbuf_reset(&b);
    svg_escape(&b, "a\x01"
                   "b\tc\nd\x7f");
    assert_string_equal(b.p, "ab\tc\nd\x7f");
    sbuf_reset(&b);
    svg_escape(&b, "x\xff"
                   "y\xc3"
                   "z\xed\xa0\x80"
                   "w\xc0\xaf");
    assert_string_equal(b.p, "x\xef\xbf\xbdy\xef\xbf\xbdz\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
                             "w\xef\xbf\xbd\xef\xbf\xbd");
    /* valid multi-byte characters pass whole, and a cut counts characters, not bytes */
    sbuf_reset(&b);
    svg_escape_cut(&b, "\xc3\xa9t\xc3\xa9 <3", 4);
    assert_string_equal(b.p, "\xc3\xa9t\xc3\xa9 \xe2\x80\xa6");
    sbuf_reset(&b);
    svg_escape_cut(&b, "abc", 3);
    assert_string_equal(b.p, "abc");
    sbuf_reset(&b);
    svg_escape(&b, NULL);
    assert_string_equal(sbuf_str(&b), "");
    sbuf_free(&b);
}

static void test_nice_max(void **state)
{
    (void)state;
    double step;
#define NEAR(a, b) (fabs((a) - (double)(b)) < 1e-9 * fmax(1, fabs((double)(b))))
    assert_true(NEAR(svg_nice_max(300, 4, &step), 300) && NEAR(step, 100));
    assert_true(NEAR(svg_nice_max(599, 5, &step), 600) && NEAR(step, 200));
    assert_true(NEAR(svg_nice_max(0.993, 4, &step), 1) && NEAR(step, 0.25));
    assert_true(NEAR(svg_nice_max(7, 4, &step), 8) && NEAR(step, 2));
    assert_true(NEAR(svg_nice_max(1, 4, &step), 1) && NEAR(step, 0.25));
    assert_true(NEAR(svg_nice_max(12345, 5, &step), 12500) && NEAR(step, 2500));
    assert_true(svg_nice_max(0, 4, &step) == 1 && step > 0);
    assert_true(svg_nice_max(NAN, 4, &step) == 1 && step > 0);
#undef NEAR
}

static void test_bars(void **state)
{
    (void)state;
    const char *cats[3] = {"one", "<two>", "three"};
    double a[3] = {1, 2, NAN}, b[3] = {3, 0, 4};
    struct svg_series s[2] = {{"first & best", "#4e79a7", a, 0}, {"second", "#f28e2b", b, 0}};
    struct svg_chart c = {.w = 360,
                          .h = 220,
                          .title = "T<",
                          .x_label = "x",
                          .y_label = "y",
                          .n = 3,
                          .cats = cats,
                          .n_series = 2,
                          .series = s,
                          .value_labels = 1};
    struct sbuf o = {0};
    assert_int_equal(svg_bar_chart(&o, &c), PARE_OK);
    assert_true(strncmp(o.p, "<svg ", 5) == 0);
    assert_contains(o.p, "<title>T&lt;</title>");
    assert_contains(o.p, "&lt;two&gt;");
    assert_contains(o.p, "first &amp; best");
    /* grouped: one rect per finite positive value, plus two legend swatches */
    assert_int_equal(count(o.p, "<rect"), 4 + 2);
    assert_int_equal(count(o.p, "</svg>"), 1);
    /* stacked and horizontal: the same marks */
    sbuf_reset(&o);
    c.stacked = 1;
    c.horizontal = 1;
    assert_int_equal(svg_bar_chart(&o, &c), PARE_OK);
    assert_int_equal(count(o.p, "<rect"), 4 + 2);
    /* value labels are the stack totals: 1 + 3, 2 + 0, and 4 alone */
    assert_int_equal(count(o.p, "font-size=\"10\">4</text>"), 2);
    assert_int_equal(count(o.p, "font-size=\"10\">2</text>"), 1);
    /* a single series draws no legend; compact draws no category labels */
    sbuf_reset(&o);
    c.n_series = 1;
    c.compact = 1;
    c.horizontal = 0;
    assert_int_equal(svg_bar_chart(&o, &c), PARE_OK);
    assert_int_equal(count(o.p, "<rect"), 2);
    assert_null(strstr(o.p, ">one<"));
    sbuf_free(&o);
}

static void test_lines(void **state)
{
    (void)state;
    double x[4] = {1, 2, 10, 100}, y[4] = {0.5, 0.7, NAN, 1.2};
    struct svg_series s = {"recall", "#4e79a7", y, 1};
    struct svg_chart c = {.w = 360,
                          .h = 240,
                          .n = 4,
                          .x = x,
                          .n_series = 1,
                          .series = &s,
                          .log_x = 1,
                          .y_max = 1,
                          .percent = 1};
    struct sbuf o = {0};
    assert_int_equal(svg_line_chart(&o, &c), PARE_OK);
    assert_int_equal(count(o.p, "<polyline"), 1);
    assert_int_equal(count(o.p, "<circle"), 3); /* NAN is skipped */
    assert_contains(o.p, "stroke-dasharray");
    assert_contains(o.p, ">100%</text>");
    assert_contains(o.p, ">50</text>"); /* 1-2-5 ticks of a log axis */
    sbuf_free(&o);
}

static void test_invalid(void **state)
{
    (void)state;
    const char *cats[2] = {"a", "b"};
    double v[2] = {1, 2}, x[2] = {0, 1}, xd[2] = {2, 1};
    struct svg_series s = {"s", "#000", v, 0};
    struct svg_chart ok = {
        .w = 200, .h = 100, .n = 2, .cats = cats, .x = x, .n_series = 1, .series = &s};
    struct sbuf o = {0};
    struct svg_chart c = ok;
    c.n = 0;
    assert_int_equal(svg_bar_chart(&o, &c), PARE_EUSAGE);
    c = ok;
    c.w = 50;
    assert_int_equal(svg_bar_chart(&o, &c), PARE_EUSAGE);
    c = ok;
    c.cats = NULL;
    assert_int_equal(svg_bar_chart(&o, &c), PARE_EUSAGE);
    c = ok;
    c.log_x = 1; /* x = 0 on a log axis */
    assert_int_equal(svg_line_chart(&o, &c), PARE_EUSAGE);
    c = ok;
    c.x = xd; /* decreasing x */
    assert_int_equal(svg_line_chart(&o, &c), PARE_EUSAGE);
    c = ok;
    c.series = NULL;
    assert_int_equal(svg_line_chart(&o, &c), PARE_EUSAGE);
    assert_int_equal(o.len, 0); /* nothing appended by a refused chart */
    assert_int_equal(svg_line_chart(&o, &ok), PARE_OK);
    sbuf_free(&o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_escape), cmocka_unit_test(test_nice_max), cmocka_unit_test(test_bars),
        cmocka_unit_test(test_lines),  cmocka_unit_test(test_invalid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
