/*
 * report_html.c - the page of `pare report` (see report.h): one HTML document with inline CSS
 * and SVG charts (common/svg.h), no script, and a content security policy that forbids the
 * browser to load anything, so the file shows the same on a laptop with no network as in CI.
 *
 * One <section> per topic; inside, one <figure> per dataset and mining run (or retrieval, plan,
 * judge), each with a caption, a chart and a line of exact figures. A section without data says
 * so in a sentence and names the command that would produce it. Colours mean one thing each
 * across the page (a policy, a difficulty bucket, a verdict), so charts can be compared.
 */
#include "pipeline/report_impl.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/svg.h"

const char *const report_sections[] = {"overview",  "sizes",     "agreement", "calls",
                                       "recall",    "negatives", "rewards",   "difficulty",
                                       "curricula", "judges",    "examples",  NULL};

/* Colours with one meaning each across the page. */
#define C_MINIMAL "#4e79a7"
#define C_FULL "#bab0ac"
#define C_ERROR "#e15759"
#define C_EASY "#59a14f"
#define C_MEDIUM "#f28e2b"
#define C_HARD "#e15759"
#define C_UNRATED "#bab0ac"
#define C_P "#4e79a7"
#define C_R "#f28e2b"
#define C_F1 "#59a14f"
#define C_VERIFIED "#4e79a7"
#define C_UNVERIFIED "#a0cbe8"
#define C_SUFFICIENT "#59a14f"
#define C_INSUFFICIENT "#4e79a7"

static const char *const bucket_label[4] = {"easy", "medium", "hard", "not rated"};
static const char *const bucket_color[4] = {C_EASY, C_MEDIUM, C_HARD, C_UNRATED};

static const char css[] =
    ":root{--ink:#1f2328;--muted:#5f6670;--line:#e4e6ea;--soft:#f6f7f9;--accent:#4e79a7}"
    "*{box-sizing:border-box}"
    "html{-webkit-text-size-adjust:100%}"
    "body{margin:0;background:var(--soft);color:var(--ink);font:14px/1.5 system-ui,-apple-system,"
    "'Segoe UI',Roboto,'DejaVu Sans',sans-serif}"
    ".page{max-width:1240px;margin:0 auto;padding:28px 28px 56px}"
    "header h1{font-size:26px;line-height:1.2;margin:0 0 4px;letter-spacing:-.01em}"
    "header .sub{color:var(--muted);margin:0 0 16px}"
    "code{font:12.5px/1.4 ui-monospace,'DejaVu Sans Mono',monospace;background:#eef0f3;"
    "padding:1px 5px;border-radius:4px;overflow-wrap:anywhere}"
    ".kpis{display:grid;grid-template-columns:repeat(auto-fit,minmax(120px,1fr));gap:10px;"
    "margin:0 0 16px;padding:0}"
    ".kpi{background:#fff;border:1px solid var(--line);border-radius:8px;padding:10px 14px}"
    ".kpi dt{color:var(--muted);font-size:12px}.kpi dd{margin:0;font-size:21px;font-weight:650;"
    "font-variant-numeric:tabular-nums}"
    "nav{background:#fff;border:1px solid var(--line);border-radius:8px;padding:10px 16px}"
    "nav ol{margin:0;padding-left:20px;columns:3;column-gap:28px}nav a{color:var(--accent);"
    "text-decoration:none}nav a:hover{text-decoration:underline}"
    "section{background:#fff;border:1px solid var(--line);border-radius:8px;"
    "padding:20px 24px 22px;margin:18px 0}"
    "h2{font-size:19px;line-height:1.3;margin:0 0 6px}"
    "h3{font-size:15px;margin:18px 0 8px}"
    "p.lead{color:var(--muted);margin:0 0 14px;max-width:86ch}"
    "p.empty{margin:6px 0;padding:10px 14px;background:var(--soft);border-radius:6px;"
    "color:var(--muted)}"
    ".grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(350px,1fr));gap:14px}"
    ".grid.wide{grid-template-columns:1fr}"
    ".split{display:grid;grid-template-columns:minmax(330px,1fr) minmax(0,2fr);gap:18px;"
    "align-items:start}.split table{margin-top:0}"
    "figure{margin:0;border:1px solid var(--line);border-radius:6px;padding:10px 12px 8px;"
    "break-inside:avoid;page-break-inside:avoid;min-width:0}"
    "figcaption{font-weight:600;font-size:13px;margin:0 0 6px;overflow-wrap:anywhere}"
    "figcaption span{font-weight:400;color:var(--muted)}"
    "svg.chart{display:block;height:auto}"
    ".note{color:var(--muted);font-size:12.5px;margin:6px 0 0}"
    "table{border-collapse:collapse;font-size:13px;width:100%;margin:8px 0 0}"
    "th,td{padding:5px 8px;border-bottom:1px solid var(--line);text-align:left;"
    "vertical-align:top}"
    "th{font-weight:600;color:var(--muted);font-size:12px;white-space:nowrap;"
    "vertical-align:bottom}th.grp{text-align:center;border-bottom-color:#c9ccd1}"
    ".num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}"
    "td.best{font-weight:650}td.run div{color:var(--muted);font-size:12px;"
    "overflow-wrap:anywhere}"
    ".scroll{overflow-x:auto}"
    ".rewards{table-layout:fixed;min-width:760px}.rewards td{padding:4px 6px}"
    ".rewards th.pol{text-align:right;width:110px}td code{white-space:nowrap}"
    ".rewards td .note{margin:0;text-align:center}"
    ".ex{border:1px solid var(--line);border-radius:6px;padding:12px 14px;margin:0 0 14px;"
    "break-inside:avoid;page-break-inside:avoid}"
    ".ex .q{font-size:15px;font-weight:600;margin:2px 0}"
    ".ex .meta{color:var(--muted);font-size:12.5px}"
    ".ex td.t{max-width:0;width:70%}.ex td.t b{font-weight:600}"
    ".ex td.t div{color:var(--muted);font-size:12.5px;overflow-wrap:anywhere}"
    "tr.gold td{background:#fff8e1}"
    ".tag{display:inline-block;margin:0 4px 2px 0;padding:0 6px;border-radius:4px;"
    "font-size:11.5px;font-weight:600;white-space:nowrap}"
    ".tag.gold{background:#fbe7a1;color:#6b4f00}.tag.mined{background:#d4e3f3;color:#1f3f63}"
    ".swatch{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:5px;"
    "vertical-align:-1px}"
    "footer{color:var(--muted);font-size:12.5px;margin-top:24px}"
    "@media print{@page{margin:14mm}body{background:#fff;font-size:10.5pt}"
    ".page{max-width:none;padding:0}nav{display:none}"
    "section{border:0;padding:0;margin:0 0 10mm;break-before:auto}"
    "h2{break-after:avoid}.grid{grid-template-columns:1fr 1fr}"
    ".kpi,figure,.ex{border-color:#ccc}tr.gold td{background:#fff3cc}"
    ".split{grid-template-columns:1fr 1fr}.split>div{grid-column:1/-1}"
    ".scroll{overflow:visible}table{font-size:8.5pt}.rewards{min-width:0}"
    "th,td{padding:3px 5px}tr{break-inside:avoid}td code{white-space:normal}"
    ".kpis{grid-template-columns:repeat(4,1fr)}h3,p.lead{break-after:avoid;break-inside:avoid}"
    ".rewards td .note{font-size:7pt}"
    "*{-webkit-print-color-adjust:exact;print-color-adjust:exact}"
    ".tag{border:1px solid #999}}";

/* ---- small writers ---- */

static void h(struct sbuf *o, const char *s)
{
    svg_escape(o, s);
}

/* An integer with thousands separators. */
static void add_int(struct sbuf *o, int64_t v)
{
    char d[32];
    int n = snprintf(d, sizeof d, "%lld", (long long)(v < 0 ? -v : v));
    if (v < 0) sbuf_addc(o, '-');
    for (int i = 0; i < n; i++) {
        if (i && (n - i) % 3 == 0) sbuf_addc(o, ',');
        sbuf_addc(o, d[i]);
    }
}

static void empty(struct sbuf *o, const char *sentence)
{
    sbuf_adds(o, "<p class=\"empty\">");
    sbuf_adds(o, sentence); /* constant text with markup of our own */
    sbuf_adds(o, "</p>");
}

static void section_open(struct sbuf *o, const char *id, int no, const char *title,
                         const char *lead)
{
    sbuf_addf(o, "<section id=\"%s\"><h2>%d. %s</h2><p class=\"lead\">%s</p>", id, no, title, lead);
}

/* A figure with caption "main — detail" (both escaped). */
static void fig_open(struct sbuf *o, const char *main, const char *detail)
{
    sbuf_adds(o, "<figure><figcaption>");
    h(o, main);
    if (detail) {
        sbuf_adds(o, " <span>\xe2\x80\x94 ");
        h(o, detail);
        sbuf_adds(o, "</span>");
    }
    sbuf_adds(o, "</figcaption>");
}

/* Labels that charts borrow: a list of owned strings. */
struct labels {
    char **v;
    int n;
};

static const char *lab(struct labels *l, const char *fmt_text)
{
    l->v = xrealloc(l->v, (size_t)(l->n + 1) * sizeof *l->v);
    return l->v[l->n++] = xstrdup(fmt_text);
}

static void labels_free(struct labels *l)
{
    for (int i = 0; i < l->n; i++) free(l->v[i]);
    free(l->v);
    memset(l, 0, sizeof *l);
}

/* "judge · method" (and " · prior P") of run u. */
static void run_name(struct sbuf *b, const struct report_run *u)
{
    sbuf_addf(b, "%s \xc2\xb7 %s", u->judge, u->method);
    if (*u->prior) sbuf_addf(b, " \xc2\xb7 prior %s", u->prior);
}

static void retrieval_name(struct sbuf *b, const struct report_retrieval *t)
{
    sbuf_addf(b, "#%lld %s", (long long)t->id, t->scope);
    if (t->k > 0) sbuf_addf(b, " top-%lld", (long long)t->k);
    if (t->with_answer) sbuf_adds(b, ", with answer");
}

/* Draws a chart; an invalid description (a bug) shows as a sentence rather than nothing. */
static void chart(struct sbuf *o, const struct svg_chart *c, int bars)
{
    if ((bars ? svg_bar_chart(o, c) : svg_line_chart(o, c)) != PARE_OK)
        empty(o, "This chart could not be drawn.");
}

/* ---- page frame ---- */

static const char *const section_title[] = {"Datasets and mining status",
                                            "Minimal-set sizes",
                                            "Agreement with gold",
                                            "Judge calls per question",
                                            "Recall@K of retrievals",
                                            "Negatives",
                                            "Rewards",
                                            "Difficulty",
                                            "Curricula",
                                            "Judges: verdicts, latency, tokens and errors",
                                            "Example questions"};

static void kpi(struct sbuf *o, const char *name, int64_t v)
{
    sbuf_addf(o, "<div class=\"kpi\"><dt>%s</dt><dd>", name);
    add_int(o, v);
    sbuf_adds(o, "</dd></div>");
}

static void page_head(struct sbuf *o, const struct report *r)
{
    sbuf_adds(o, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                 "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
                 "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
                 "style-src 'unsafe-inline'\"><meta name=\"generator\" content=\"pare " PARE_VERSION
                 "\"><title>pare report \xc2\xb7 ");
    h(o, r->db_path);
    sbuf_addf(o,
              "</title><style>%s</style></head><body><div class=\"page\"><header>"
              "<h1>pare report</h1><p class=\"sub\">Database <code>",
              css);
    h(o, r->db_path);
    sbuf_addf(o, "</code> \xc2\xb7 schema %d \xc2\xb7 generated %s</p><dl class=\"kpis\">",
              r->schema, r->generated_at);
    kpi(o, "datasets", r->n_datasets);
    kpi(o, "questions", r->questions);
    kpi(o, "passages", r->passages);
    kpi(o, "evidence sets", r->sets);
    kpi(o, "judge calls", r->judge_calls);
    kpi(o, "negatives", r->negatives_n);
    kpi(o, "trajectories", r->trajectories);
    kpi(o, "rewards", r->rewards_n);
    sbuf_adds(o, "</dl><nav><ol>");
    for (int i = 0; report_sections[i]; i++)
        sbuf_addf(o, "<li><a href=\"#%s\">%s</a></li>", report_sections[i], section_title[i]);
    sbuf_adds(o, "</ol></nav></header><main>");
}

static void page_foot(struct sbuf *o, const struct report *r)
{
    sbuf_adds(o, "</main><footer>Made by <code>pare --db ");
    h(o, r->db_path);
    sbuf_addf(o,
              " report</code> (pare %s). Figures of mined sets follow <code>pare eval</code>; "
              "hover a bar or a point for its exact value.</footer></div></body></html>\n",
              PARE_VERSION);
}

/* ---- 1. overview ---- */

/* One bar per dataset and run: questions by the status of their set (or not mined). */
static void overview_chart(struct sbuf *o, const struct report *r)
{
    int rows = 0, cap = r->n_datasets * (r->n_runs ? r->n_runs : 1);
    struct labels L = {0};
    const char **cats = xcalloc((size_t)cap + 1, sizeof *cats);
    double *v[4];
    for (int k = 0; k < 4; k++) v[k] = xcalloc((size_t)cap + 1, sizeof **v);
    struct sbuf b = {0};
    for (int d = 0; d < r->n_datasets; d++)
        for (int u = 0; u < (r->n_runs ? r->n_runs : 1); u++, rows++) {
            const struct report_cell *c = r->n_runs ? &r->runs[u].cells[d] : NULL;
            sbuf_setf(&b, "%s", r->datasets[d].name);
            if (c && r->n_runs > 1) sbuf_addf(&b, " \xc2\xb7 %s", r->runs[u].method);
            cats[rows] = lab(&L, b.p);
            v[0][rows] = c ? (double)c->minimal : 0;
            v[1][rows] = c ? (double)c->full_insufficient : 0;
            v[2][rows] = c ? (double)c->errors : 0;
            v[3][rows] = (double)r->datasets[d].questions - (c ? (double)c->sets : 0);
        }
    struct svg_series s[4] = {{"minimal set", C_MINIMAL, v[0], 0},
                              {"full set insufficient", C_FULL, v[1], 0},
                              {"error", C_ERROR, v[2], 0},
                              {"not mined", "#e8e8e8", v[3], 0}};
    struct svg_chart c = {.w = 1100,
                          .h = 70 + 26 * rows,
                          .title = "Questions per dataset by "
                                   "mining outcome",
                          .x_label = NULL,
                          .y_label = "questions",
                          .n = rows,
                          .cats = cats,
                          .n_series = 4,
                          .series = s,
                          .stacked = 1,
                          .horizontal = 1,
                          .value_labels = 0};
    sbuf_adds(o, "<div class=\"grid wide\">");
    fig_open(o, "Questions by mining outcome",
             r->n_runs > 1 ? "one bar per dataset and method" : NULL);
    chart(o, &c, 1);
    sbuf_adds(o, "</figure></div>");
    for (int k = 0; k < 4; k++) free(v[k]);
    free(cats);
    labels_free(&L);
    sbuf_free(&b);
}

static void overview_tables(struct sbuf *o, const struct report *r)
{
    sbuf_adds(o, "<div class=\"scroll\"><table><thead><tr><th>dataset</th><th>format</th>"
                 "<th class=\"num\">questions</th><th class=\"num\">context passages</th>"
                 "<th class=\"num\">gold passages</th></tr></thead><tbody>");
    for (int d = 0; d < r->n_datasets; d++) {
        const struct report_dataset *x = &r->datasets[d];
        sbuf_adds(o, "<tr><td>");
        h(o, x->name);
        sbuf_adds(o, "</td><td>");
        h(o, x->format);
        sbuf_adds(o, "</td><td class=\"num\">");
        add_int(o, x->questions);
        sbuf_adds(o, "</td><td class=\"num\">");
        add_int(o, x->contexts);
        sbuf_adds(o, "</td><td class=\"num\">");
        add_int(o, x->gold);
        sbuf_adds(o, "</td></tr>");
    }
    sbuf_adds(o, "</tbody></table></div>");
    if (!r->n_runs) return;
    sbuf_adds(o, "<h3>Mining runs</h3><div class=\"scroll\"><table><thead><tr><th>judge</th>"
                 "<th>method</th><th>prior</th><th class=\"num\">sets</th><th>candidates of"
                 "</th></tr></thead><tbody>");
    struct sbuf b = {0};
    for (int u = 0; u < r->n_runs; u++) {
        const struct report_run *x = &r->runs[u];
        int64_t sets = 0;
        for (int d = 0; d < r->n_datasets; d++) sets += x->cells[d].sets;
        sbuf_adds(o, "<tr><td><code>");
        h(o, x->judge);
        sbuf_adds(o, "</code></td><td>");
        h(o, x->method);
        sbuf_adds(o, "</td><td>");
        h(o, *x->prior ? x->prior : "\xe2\x80\x94");
        sbuf_adds(o, "</td><td class=\"num\">");
        add_int(o, sets);
        sbuf_adds(o, "</td><td>");
        for (int i = 0; i < r->n_retrievals; i++)
            if (r->retrievals[i].id == x->retrieval) {
                sbuf_reset(&b);
                retrieval_name(&b, &r->retrievals[i]);
                h(o, b.p);
                sbuf_adds(o, x->retrieval_from_run ? " (the mine run's)" : " (the newest)");
            }
        sbuf_adds(o, "</td></tr>");
    }
    sbuf_free(&b);
    sbuf_adds(o, "</tbody></table></div>");
}

static void sec_overview(struct sbuf *o, const struct report *r, int no)
{
    section_open(o, "overview", no, section_title[no - 1],
                 "What each dataset holds and how far mining got: for every question, a minimal "
                 "sufficient set, a full candidate set that was already insufficient, a failure, "
                 "or no mining yet.");
    if (!r->n_datasets) {
        empty(o, "No datasets yet: load one with <code>pare ingest</code>.");
    } else {
        overview_chart(o, r);
        overview_tables(o, r);
    }
    sbuf_adds(o, "</section>");
}

/* ---- 2. sizes ---- */

/* A figure per dataset and run that has sets, drawn by fn; returns how many. */
static int each_cell(struct sbuf *o, const struct report *r,
                     void (*fn)(struct sbuf *, const struct report *, int, int))
{
    int n = 0;
    for (int d = 0; d < r->n_datasets; d++)
        for (int u = 0; u < r->n_runs; u++)
            if (r->runs[u].cells[d].sets) {
                struct sbuf b = {0};
                run_name(&b, &r->runs[u]);
                fig_open(o, r->datasets[d].name, b.p);
                sbuf_free(&b);
                fn(o, r, u, d);
                sbuf_adds(o, "</figure>");
                n++;
            }
    return n;
}

/* Dataset-and-run cells with sets. */
static int count_cells(const struct report *r)
{
    int n = 0;
    for (int d = 0; d < r->n_datasets; d++)
        for (int u = 0; u < r->n_runs; u++) n += r->runs[u].cells[d].sets > 0;
    return n;
}

/* Lays out n figures (drawn by figs) and a table: a lone figure shares its row with the table. */
static void figures_and_table(struct sbuf *o, const struct report *r, int n,
                              void (*figs)(struct sbuf *, const struct report *),
                              void (*table)(struct sbuf *, const struct report *))
{
    sbuf_adds(o, n == 1 ? "<div class=\"split\">" : "<div class=\"grid\">");
    figs(o, r);
    if (n == 1)
        sbuf_adds(o, "<div>");
    else
        sbuf_adds(o, "</div>");
    table(o, r);
    if (n == 1) sbuf_adds(o, "</div></div>");
}

/* Opens a table of one row per dataset and run, headed by dataset, run and `cols` (markup). */
static void cells_table_open(struct sbuf *o, const char *cls, const char *cols)
{
    sbuf_addf(o,
              "<div class=\"scroll\"><table class=\"%s\"><thead><tr><th>dataset and run</th>%s"
              "</tr></thead><tbody>",
              cls, cols);
}

/* Opens the row of dataset d and run u (attrs: its data- attributes, or "") and its first cell:
 * the dataset, and under it the run. */
static void cells_row_open(struct sbuf *o, const struct report *r, int u, int d, const char *attrs)
{
    struct sbuf b = {0};
    run_name(&b, &r->runs[u]);
    sbuf_addf(o, "<tr%s><td class=\"run\">", attrs);
    h(o, r->datasets[d].name);
    sbuf_adds(o, "<div>");
    h(o, b.p);
    sbuf_adds(o, "</div></td>");
    sbuf_free(&b);
}

static void num_cell(struct sbuf *o, int64_t v)
{
    sbuf_adds(o, "<td class=\"num\">");
    add_int(o, v);
    sbuf_adds(o, "</td>");
}

static void sizes_fig(struct sbuf *o, const struct report *r, int u, int d)
{
    const struct report_cell *c = &r->runs[u].cells[d];
    int last = 3; /* sizes 1..3 at least, then up to the largest seen */
    for (int k = 0; k <= REPORT_SIZE_MAX; k++)
        if (c->size_hist[k]) last = k > last ? k : last;
    int first = c->size_hist[0] ? 0 : 1, n = 0;
    struct labels L = {0};
    const char *cats[REPORT_SIZE_MAX + 3];
    double v[3][REPORT_SIZE_MAX + 3];
    char t[32];
    for (int k = first; k <= last; k++, n++) {
        snprintf(t, sizeof t, k == REPORT_SIZE_MAX ? "%d+" : "%d", k);
        cats[n] = lab(&L, t);
        v[0][n] = (double)c->size_hist[k], v[1][n] = NAN, v[2][n] = NAN;
    }
    if (c->full_insufficient) {
        cats[n] = "none";
        v[0][n] = NAN, v[1][n] = (double)c->full_insufficient, v[2][n++] = NAN;
    }
    if (c->errors) {
        cats[n] = "error";
        v[0][n] = NAN, v[1][n] = NAN, v[2][n++] = (double)c->errors;
    }
    struct svg_series s[3] = {{"minimal set", C_MINIMAL, v[0], 0},
                              {"full set insufficient", C_FULL, v[1], 0},
                              {"error", C_ERROR, v[2], 0}};
    struct svg_chart ch = {.w = 360,
                           .h = 220,
                           .title = "Minimal-set sizes",
                           .x_label = "passages in the minimal set",
                           .y_label = "questions",
                           .n = n,
                           .cats = cats,
                           .n_series = 3,
                           .series = s,
                           .stacked = 1,
                           .value_labels = n <= 12};
    chart(o, &ch, 1);
    sbuf_adds(o, "<p class=\"note\">");
    add_int(o, c->sets);
    sbuf_adds(o, " questions: ");
    add_int(o, c->minimal);
    sbuf_addf(o, " minimal (mean size %.2f), ", c->minimal ? (double)c->size_sum / c->minimal : 0);
    add_int(o, c->full_insufficient);
    sbuf_adds(o, " insufficient, ");
    add_int(o, c->errors);
    sbuf_adds(o, " failed</p>");
    labels_free(&L);
}

static void sizes_figs(struct sbuf *o, const struct report *r)
{
    each_cell(o, r, sizes_fig);
}

static void sizes_table(struct sbuf *o, const struct report *r)
{
    cells_table_open(o, "sizes",
                     "<th class=\"num\">questions</th><th class=\"num\">minimal</th>"
                     "<th class=\"num\">mean size</th><th class=\"num\">size 1</th>"
                     "<th class=\"num\">insufficient</th><th class=\"num\">failed</th>");
    for (int d = 0; d < r->n_datasets; d++)
        for (int u = 0; u < r->n_runs; u++) {
            const struct report_cell *c = &r->runs[u].cells[d];
            if (!c->sets) continue;
            cells_row_open(o, r, u, d, "");
            num_cell(o, c->sets);
            num_cell(o, c->minimal);
            sbuf_addf(o, "<td class=\"num\">%.2f</td>",
                      c->minimal ? (double)c->size_sum / (double)c->minimal : 0);
            num_cell(o, c->size_hist[1]);
            num_cell(o, c->full_insufficient);
            num_cell(o, c->errors);
            sbuf_adds(o, "</tr>");
        }
    sbuf_adds(o, "</tbody></table></div>");
}

static void sec_sizes(struct sbuf *o, const struct report *r, int no)
{
    section_open(o, "sizes", no, section_title[no - 1],
                 "How many passages each minimal sufficient set keeps. Smaller sets are cheaper "
                 "contexts; a set of one passage for a multi-hop question deserves a look. "
                 "Questions whose full candidate set was already insufficient have no set.");
    int n = count_cells(r);
    if (!n)
        empty(o, "No evidence sets yet: mine them with <code>pare mine</code>.");
    else
        figures_and_table(o, r, n, sizes_figs, sizes_table);
    sbuf_adds(o, "</section>");
}

/* ---- 3. agreement with gold ---- */

static void agreement_fig(struct sbuf *o, const struct report *r, int u, int d)
{
    const struct set_sums *g = &r->runs[u].cells[d].gold;
    if (g->minimal + g->full_insufficient == 0) {
        empty(o, "None of these questions has candidates in the run's retrieval, so there is "
                 "nothing to compare with.");
        return;
    }
    const char *cats[METRICS_TOPK + 1] = {"mined", "top-1", "top-2", "top-3", "top-4", "top-5"};
    double p[METRICS_TOPK + 1], rr[METRICS_TOPK + 1], f[METRICS_TOPK + 1];
    for (int k = 0; k <= METRICS_TOPK; k++) {
        struct prf m = metrics_mean(g, k ? &g->topk[k - 1] : &g->set);
        p[k] = m.p, rr[k] = m.r, f[k] = m.f1;
    }
    struct svg_series s[3] = {{"precision", C_P, p, 0}, {"recall", C_R, rr, 0}, {"F1", C_F1, f, 0}};
    struct svg_chart ch = {.w = 360,
                           .h = 220,
                           .title = "Precision, recall and F1 against gold",
                           .x_label = "passages kept: the mined set, or the first K",
                           .y_label = "mean over questions",
                           .n = METRICS_TOPK + 1,
                           .cats = cats,
                           .n_series = 3,
                           .series = s,
                           .y_max = 1,
                           .y_decimals = 1};
    chart(o, &ch, 1);
    int k = metrics_best_k(g);
    sbuf_addf(o,
              "<p class=\"note\">Mined F1 %.3f against %.3f for the best fixed top-K (K=%d), "
              "over ",
              f[0], f[k], k);
    add_int(o, g->minimal + g->full_insufficient);
    sbuf_addf(o,
              " questions with candidates in retrieval #%lld (<code>pare eval --retrieval "
              "%lld</code>).</p>",
              (long long)r->runs[u].retrieval, (long long)r->runs[u].retrieval);
}

static void agreement_row(struct sbuf *o, const struct report *r, int u, int d)
{
    const struct report_run *x = &r->runs[u];
    const struct set_sums *g = &x->cells[d].gold;
    int k = metrics_best_k(g);
    struct prf set = metrics_mean(g, &g->set), best = metrics_mean(g, &g->topk[k - 1]);
    struct sbuf a = {0};
    sbuf_adds(&a, " data-dataset=\"");
    h(&a, r->datasets[d].name);
    sbuf_adds(&a, "\" data-judge=\"");
    h(&a, x->judge);
    sbuf_adds(&a, "\" data-method=\"");
    h(&a, x->method);
    sbuf_addf(&a, "\" data-retrieval-of-run=\"%lld\"", (long long)x->retrieval);
    cells_row_open(o, r, u, d, a.p);
    sbuf_free(&a);
    num_cell(o, g->questions);
    sbuf_addf(o,
              "<td class=\"num\">%.3f</td><td class=\"num\">%.3f</td>"
              "<td class=\"num%s\">%.3f</td>",
              set.p, set.r, set.f1 >= best.f1 ? " best" : "", set.f1);
    for (int i = 0; i < METRICS_TOPK; i++) {
        struct prf m = metrics_mean(g, &g->topk[i]);
        sbuf_addf(o, "<td class=\"num%s\">%.3f</td>", i == k - 1 && best.f1 > set.f1 ? " best" : "",
                  m.f1);
    }
    sbuf_addf(o, "<td class=\"num\">%+.3f</td></tr>", set.f1 - best.f1);
}

static void agreement_figs(struct sbuf *o, const struct report *r)
{
    each_cell(o, r, agreement_fig);
}

static void agreement_table(struct sbuf *o, const struct report *r)
{
    sbuf_adds(o, "<div class=\"scroll\"><table class=\"agreement\"><thead><tr><th rowspan=\"2\">"
                 "dataset and run</th><th class=\"num\" rowspan=\"2\">questions</th>"
                 "<th class=\"grp\" colspan=\"3\">mined set</th><th class=\"grp\" colspan=\"5\">"
                 "F1 of the first K candidates</th><th class=\"num\" rowspan=\"2\">mined F1<br>"
                 "\xe2\x88\x92 best K</th></tr><tr><th class=\"num\">P</th><th class=\"num\">R"
                 "</th><th class=\"num\">F1</th>");
    for (int k = 1; k <= METRICS_TOPK; k++) sbuf_addf(o, "<th class=\"num\">K=%d</th>", k);
    sbuf_adds(o, "</tr></thead><tbody>");
    for (int d = 0; d < r->n_datasets; d++)
        for (int u = 0; u < r->n_runs; u++)
            if (r->runs[u].cells[d].sets) agreement_row(o, r, u, d);
    sbuf_adds(o, "</tbody></table></div><p class=\"note\">Each row is what <code>pare eval "
                 "--retrieval N</code> prints for the run's retrieval N, named in the chart's "
                 "note.</p>");
}

static void sec_agreement(struct sbuf *o, const struct report *r, int no)
{
    section_open(o, "agreement", no, section_title[no - 1],
                 "Precision, recall and F1 of the mined sets against the datasets' gold "
                 "supporting passages, beside keeping a fixed number K of the best-ranked "
                 "candidates. Means over the questions with candidates in the run's retrieval; "
                 "a question whose full set was insufficient scores 0. The same figures as "
                 "<code>pare eval</code>.");
    int n = count_cells(r);
    if (!n)
        empty(o, "No evidence sets yet: mine them with <code>pare mine</code>.");
    else
        figures_and_table(o, r, n, agreement_figs, agreement_table);
    sbuf_adds(o, "</section>");
}

/* ---- 4. judge calls per question ---- */

static void calls_fig(struct sbuf *o, const struct report *r, int u, int d)
{
    const struct report_cell *c = &r->runs[u].cells[d];
    int64_t lo = 0, hi = c->n_calls_hist - 1;
    while (lo < hi && !c->calls_hist[lo]) lo++;
    int64_t width = (hi - lo + 1 + 39) / 40, n = (hi - lo + 1 + width - 1) / width;
    struct labels L = {0};
    const char **cats = xcalloc((size_t)n + 1, sizeof *cats);
    double *v = xcalloc((size_t)n + 1, sizeof *v);
    char t[64];
    for (int64_t i = 0; i < n; i++) {
        int64_t a = lo + i * width, b = a + width - 1;
        if (width == 1)
            snprintf(t, sizeof t, "%lld", (long long)a);
        else
            snprintf(t, sizeof t, "%lld\xe2\x80\x93%lld", (long long)a, (long long)b);
        cats[i] = lab(&L, t);
        for (int64_t k = a; k <= b && k < c->n_calls_hist; k++) v[i] += (double)c->calls_hist[k];
    }
    struct svg_series s = {"questions", C_MINIMAL, v, 0};
    struct svg_chart ch = {.w = 360,
                           .h = 220,
                           .title = "Judge calls per question",
                           .x_label = "judge calls for the question",
                           .y_label = "questions",
                           .n = (int)n,
                           .cats = cats,
                           .n_series = 1,
                           .series = &s,
                           .value_labels = n <= 12};
    chart(o, &ch, 1);
    double q = c->sets ? (double)c->sets : 1;
    sbuf_addf(o, "<p class=\"note\">%.2f calls per question, %.2f of them answered from the cache",
              (double)c->calls / q, (double)c->cached / q);
    if (*r->runs[u].prior) sbuf_addf(o, "; %.2f calls of the prior", (double)c->prior_calls / q);
    sbuf_adds(o, ".</p>");
    free(cats);
    free(v);
    labels_free(&L);
}

/* The smallest number of calls that half the sets of c stay within. */
static int64_t calls_median(const struct report_cell *c)
{
    int64_t seen = 0;
    for (int64_t k = 0; k < c->n_calls_hist; k++)
        if ((seen += c->calls_hist[k]) * 2 >= c->sets) return k;
    return 0;
}

static void calls_figs(struct sbuf *o, const struct report *r)
{
    each_cell(o, r, calls_fig);
}

static void calls_table(struct sbuf *o, const struct report *r)
{
    cells_table_open(o, "calls",
                     "<th class=\"num\">questions</th><th class=\"num\">calls per question</th>"
                     "<th class=\"num\">from the cache</th><th class=\"num\">prior calls</th>"
                     "<th class=\"num\">median</th><th class=\"num\">most</th>");
    for (int d = 0; d < r->n_datasets; d++)
        for (int u = 0; u < r->n_runs; u++) {
            const struct report_cell *c = &r->runs[u].cells[d];
            if (!c->sets) continue;
            double q = (double)c->sets;
            cells_row_open(o, r, u, d, "");
            num_cell(o, c->sets);
            sbuf_addf(o, "<td class=\"num\">%.2f</td><td class=\"num\">%.2f</td>",
                      (double)c->calls / q, (double)c->cached / q);
            if (*r->runs[u].prior)
                sbuf_addf(o, "<td class=\"num\">%.2f</td>", (double)c->prior_calls / q);
            else
                sbuf_adds(o, "<td class=\"num\">\xe2\x80\x94</td>");
            num_cell(o, calls_median(c));
            num_cell(o, c->n_calls_hist - 1);
            sbuf_adds(o, "</tr>");
        }
    sbuf_adds(o, "</tbody></table></div>");
}

static void sec_calls(struct sbuf *o, const struct report *r, int no)
{
    section_open(o, "calls", no, section_title[no - 1],
                 "How many judge calls each question took to reach its set, per method and prior: "
                 "the cost of mining. Calls answered from the cache of earlier runs count, and "
                 "are shown apart in the note.");
    int n = count_cells(r);
    if (!n)
        empty(o, "No evidence sets yet: mine them with <code>pare mine</code>.");
    else
        figures_and_table(o, r, n, calls_figs, calls_table);
    sbuf_adds(o, "</section>");
}

/* ---- 5. recall@K ---- */

/* The value of retrieval t's curve at K in dataset d (NAN where it has no point). */
static double recall_at(const struct report_retrieval *t, int d, int64_t k, int all)
{
    for (int i = 0; i < t->n_ks; i++)
        if (t->ks[i] == k) {
            const struct recall_sums *a = &t->per_ds[d].at[i];
            return all ? (double)a->all_found / (double)a->questions
                       : (double)a->found / (double)a->gold;
        }
    return NAN;
}

/* The union of the cut-offs of the retrievals with questions in dataset d, increasing. */
static int recall_xs(const struct report *r, int d, double **xs)
{
    int n = 0;
    size_t cap = 0;
    *xs = NULL;
    for (int i = 0; i < r->n_retrievals; i++) {
        const struct report_retrieval *t = &r->retrievals[i];
        if (!t->n_ks || !t->per_ds[d].at[0].questions) continue;
        for (int j = 0; j < t->n_ks; j++) {
            int at = 0;
            while (at < n && (*xs)[at] < (double)t->ks[j]) at++;
            if (at < n && (*xs)[at] == (double)t->ks[j]) continue;
            xgrow((void **)xs, &cap, (size_t)n + 1, sizeof **xs);
            memmove(*xs + at + 1, *xs + at, (size_t)(n - at) * sizeof **xs);
            (*xs)[at] = (double)t->ks[j];
            n++;
        }
    }
    return n;
}

/* A line per retrieval of dataset d: recall@K (all = 0) or the share with all gold (all = 1). */
static void recall_fig(struct sbuf *o, const struct report *r, int d, int all)
{
    double *x;
    int nx = recall_xs(r, d, &x);
    struct svg_series *s = xcalloc((size_t)r->n_retrievals + 1, sizeof *s);
    struct labels L = {0};
    struct sbuf b = {0};
    int n = 0;
    for (int i = 0; i < r->n_retrievals; i++) {
        const struct report_retrieval *t = &r->retrievals[i];
        if (!t->n_ks || !t->per_ds[d].at[0].questions) continue;
        double *v = xmalloc((size_t)nx * sizeof *v);
        for (int k = 0; k < nx; k++) v[k] = recall_at(t, d, (int64_t)x[k], all);
        sbuf_reset(&b);
        retrieval_name(&b, t);
        s[n++] = (struct svg_series){lab(&L, b.p), svg_palette[i % 10], v, 0};
    }
    fig_open(o, r->datasets[d].name,
             all ? "questions with every gold passage in the top K" : "recall@K of gold passages");
    struct svg_chart ch = {.w = 360,
                           .h = 240,
                           .title = all ? "All gold in top K" : "Recall@K",
                           .x_label = "K (candidates kept)",
                           .y_label = all ? "questions" : "gold passages found",
                           .n = nx,
                           .x = x,
                           .n_series = n,
                           .series = s,
                           .log_x = x[nx - 1] > 20,
                           .y_max = 1,
                           .percent = 1};
    chart(o, &ch, 0);
    sbuf_adds(o, "</figure>");
    for (int i = 0; i < n; i++) free((void *)s[i].v);
    free(s);
    free(x);
    labels_free(&L);
    sbuf_free(&b);
}

/* Recall at eval's fixed cut-offs, one row per dataset and retrieval. */
static void recall_table(struct sbuf *o, const struct report *r)
{
    static const int64_t cuts[] = {1, 2, 5, 10, 20, 50, 100};
    sbuf_adds(o, "<div class=\"scroll\"><table class=\"recall\"><thead><tr><th>dataset</th>"
                 "<th>retrieval</th><th class=\"num\">questions</th>");
    for (size_t i = 0; i < ARRAY_SIZE(cuts); i++)
        sbuf_addf(o, "<th class=\"num\">R@%lld</th>", (long long)cuts[i]);
    sbuf_adds(o, "<th>same as</th></tr></thead><tbody>");
    struct sbuf b = {0};
    for (int d = 0; d < r->n_datasets; d++)
        for (int i = 0; i < r->n_retrievals; i++) {
            const struct report_retrieval *t = &r->retrievals[i];
            if (!t->n_ks || !t->per_ds[d].at[0].questions) continue;
            sbuf_reset(&b);
            retrieval_name(&b, t);
            sbuf_addf(o, "<tr data-retrieval=\"%lld\"><td>", (long long)t->id);
            h(o, r->datasets[d].name);
            sbuf_adds(o, "</td><td>");
            h(o, b.p);
            sbuf_adds(o, "</td>");
            num_cell(o, t->per_ds[d].at[0].questions);
            for (size_t k = 0; k < ARRAY_SIZE(cuts); k++) {
                double v = recall_at(t, d, cuts[k], 0);
                if (isnan(v))
                    sbuf_adds(o, "<td class=\"num\">\xe2\x80\x94</td>");
                else
                    sbuf_addf(o, "<td class=\"num\">%.3f</td>", v);
            }
            sbuf_addf(o, "<td><code>pare eval --recall --retrieval %lld</code></td></tr>",
                      (long long)t->id);
        }
    sbuf_free(&b);
    sbuf_adds(o, "</tbody></table></div>");
}

static void sec_recall(struct sbuf *o, const struct report *r, int no)
{
    section_open(o, "recall", no, section_title[no - 1],
                 "For every retrieval, the share of gold passages among the first K candidates "
                 "(summed over questions) and the share of questions with all their gold "
                 "passages there. Mining can only keep what retrieval found.");
    int n = 0;
    sbuf_adds(o, "<div class=\"grid\">");
    for (int d = 0; d < r->n_datasets; d++) {
        int has = 0;
        for (int i = 0; i < r->n_retrievals; i++)
            has |= r->retrievals[i].n_ks && r->retrievals[i].per_ds[d].at[0].questions;
        if (!has) continue;
        recall_fig(o, r, d, 0);
        recall_fig(o, r, d, 1);
        n++;
    }
    sbuf_adds(o, "</div>");
    if (n)
        recall_table(o, r);
    else
        empty(o, "No candidates with gold passages yet: run <code>pare index</code> and "
                 "<code>pare retrieve</code>.");
    sbuf_adds(o, "</section>");
}

/* ---- 6. negatives ---- */

static void negatives_fig(struct sbuf *o, const struct report *r, int d)
{
    struct labels L = {0};
    const char **cats = xcalloc((size_t)r->n_negatives + 1, sizeof *cats);
    double *ver = xcalloc((size_t)r->n_negatives + 1, sizeof *ver);
    double *unv = xcalloc((size_t)r->n_negatives + 1, sizeof *unv);
    int n = 0;
    for (int i = 0; i < r->n_negatives; i++) {
        const struct report_negative *x = &r->negatives[i];
        if (x->ds != d) continue;
        int k = 0; /* kinds come sorted: labels of one kind are adjacent */
        if (n && strcmp(cats[n - 1], x->kind) == 0)
            k = n - 1;
        else
            cats[k = n++] = lab(&L, x->kind);
        ver[k] += (double)x->verified;
        unv[k] += (double)(x->count - x->verified);
    }
    struct svg_series s[2] = {{"verified", C_VERIFIED, ver, 0},
                              {"not verified", C_UNVERIFIED, unv, 0}};
    fig_open(o, r->datasets[d].name, "negatives by kind");
    struct svg_chart ch = {.w = 360,
                           .h = 60 + 26 * n,
                           .title = "Negatives by kind",
                           .y_label = "negatives",
                           .n = n,
                           .cats = cats,
                           .n_series = 2,
                           .series = s,
                           .stacked = 1,
                           .horizontal = 1,
                           .value_labels = 1};
    chart(o, &ch, 1);
    sbuf_adds(o, "</figure>");
    free(cats);
    free(ver);
    free(unv);
    labels_free(&L);
}

static void negatives_table(struct sbuf *o, const struct report *r)
{
    sbuf_adds(o, "<div class=\"scroll\"><table class=\"negatives\"><thead><tr><th>dataset</th>"
                 "<th>kind</th><th>label</th><th class=\"num\">negatives</th>"
                 "<th class=\"num\">verified</th></tr></thead><tbody>");
    for (int i = 0; i < r->n_negatives; i++) {
        const struct report_negative *x = &r->negatives[i];
        sbuf_adds(o, "<tr><td>");
        h(o, r->datasets[x->ds].name);
        sbuf_adds(o, "</td><td>");
        h(o, x->kind);
        sbuf_adds(o, "</td><td>");
        h(o, x->label);
        sbuf_adds(o, "</td>");
        num_cell(o, x->count);
        num_cell(o, x->verified);
        sbuf_adds(o, "</tr>");
    }
    sbuf_adds(o, "</tbody></table></div>");
}

static int has_negatives(const struct report *r, int d)
{
    for (int i = 0; i < r->n_negatives; i++)
        if (r->negatives[i].ds == d) return 1;
    return 0;
}

static void negatives_figs(struct sbuf *o, const struct report *r)
{
    for (int d = 0; d < r->n_datasets; d++)
        if (has_negatives(r, d)) negatives_fig(o, r, d);
}

static void sec_negatives(struct sbuf *o, const struct report *r, int no)
{
    section_open(o, "negatives", no, section_title[no - 1],
                 "Contrastive examples built from the minimal sets, by kind: a set minus one "
                 "member, the set plus a distractor, distractors only, a wrong answer, the right "
                 "answer with no evidence. Verified means a judge verdict (or the mining cache) "
                 "confirms the label.");
    int n = 0;
    for (int d = 0; d < r->n_datasets; d++) n += has_negatives(r, d);
    if (!n)
        empty(o, "No negatives yet: build them with <code>pare augment</code>.");
    else
        figures_and_table(o, r, n, negatives_figs, negatives_table);
    sbuf_adds(o, "</section>");
}

/* ---- 7. rewards ---- */

static const struct report_reward *reward_of(const struct report *r, int d, int sc, int pol)
{
    for (int i = 0; i < r->n_rewards; i++)
        if (r->rewards[i].ds == d && r->rewards[i].scheme == sc && r->rewards[i].policy == pol)
            return &r->rewards[i];
    return NULL;
}

/* One small histogram: the shares of a policy's trajectories by reward value. */
static void reward_cell(struct sbuf *o, const struct report *r, const struct report_reward *w)
{
    double lo = r->scheme_lo[w->scheme], hi = r->scheme_hi[w->scheme];
    double width = hi > lo ? (hi - lo) / REPORT_BINS : 1, v[REPORT_BINS];
    const char *cats[REPORT_BINS];
    struct labels L = {0};
    char t[96];
    for (int b = 0; b < REPORT_BINS; b++) {
        snprintf(t, sizeof t, "%.3g to %.3g", lo + b * width, lo + (b + 1) * width);
        cats[b] = lab(&L, t);
        v[b] = w->n ? (double)w->hist[b] / (double)w->n : 0;
    }
    struct svg_series s = {r->policies[w->policy], svg_palette[w->policy % 10], v, 0};
    struct svg_chart ch = {.w = 170,
                           .h = 80,
                           .title = "Reward distribution",
                           .n = REPORT_BINS,
                           .cats = cats,
                           .n_series = 1,
                           .series = &s,
                           .y_max = 1,
                           .percent = 1,
                           .compact = 1};
    chart(o, &ch, 1);
    sbuf_addf(o, "<p class=\"note\">mean %.3f \xc2\xb7 n ", w->sum / (double)w->n);
    add_int(o, w->n);
    sbuf_adds(o, "</p>");
    labels_free(&L);
}

static void rewards_table(struct sbuf *o, const struct report *r, int d)
{
    sbuf_adds(o, "<div class=\"scroll\"><table class=\"rewards\"><thead><tr><th class=\"pol\">"
                 "policy</th>");
    for (int sc = 0; sc < r->n_schemes; sc++) {
        sbuf_adds(o, "<th>");
        h(o, r->schemes[sc]);
        sbuf_addf(o, "<br><span class=\"note\">%.3g to %.3g</span></th>", r->scheme_lo[sc],
                  r->scheme_hi[sc]);
    }
    sbuf_adds(o, "</tr></thead><tbody>");
    for (int p = 0; p < r->n_policies; p++) {
        int any = 0;
        for (int sc = 0; sc < r->n_schemes; sc++) any |= reward_of(r, d, sc, p) != NULL;
        if (!any) continue;
        sbuf_addf(o,
                  "<tr><th class=\"pol\"><span class=\"swatch\" style=\"background:%s\">"
                  "</span>",
                  svg_palette[p % 10]);
        h(o, r->policies[p]);
        sbuf_adds(o, "</th>");
        for (int sc = 0; sc < r->n_schemes; sc++) {
            const struct report_reward *w = reward_of(r, d, sc, p);
            sbuf_adds(o, "<td>");
            if (w) reward_cell(o, r, w);
            sbuf_adds(o, "</td>");
        }
        sbuf_adds(o, "</tr>");
    }
    sbuf_adds(o, "</tbody></table></div>");
}

static void sec_rewards(struct sbuf *o, const struct report *r, int no)
{
    section_open(o, "rewards", no, section_title[no - 1],
                 "The distribution of every reward scheme (columns) for every policy (rows): the "
                 "share of the policy's trajectories in each twentieth of the scheme's range, "
                 "which the column heading gives. A good scheme separates the policies.");
    int n = 0;
    for (int d = 0; d < r->n_datasets; d++) {
        int has = 0;
        for (int i = 0; i < r->n_rewards; i++) has |= r->rewards[i].ds == d;
        if (!has) continue;
        sbuf_adds(o, "<h3>");
        h(o, r->datasets[d].name);
        sbuf_adds(o, "</h3>");
        rewards_table(o, r, d);
        n++;
    }
    if (!n) empty(o, "No rewards yet: score trajectories with <code>pare score</code>.");
    sbuf_adds(o, "</section>");
}

/* ---- 8. difficulty ---- */

static void difficulty_figs(struct sbuf *o, const struct report *r, int d)
{
    const struct report_difficulty *x = &r->difficulty[d];
    double v[4][4];
    for (int i = 0; i < 4; i++)
        for (int k = 0; k < 4; k++) v[i][k] = i == k ? (double)x->bucket[k] : NAN;
    struct svg_series s[4];
    for (int i = 0; i < 4; i++) s[i] = (struct svg_series){NULL, bucket_color[i], v[i], 0};
    fig_open(o, r->datasets[d].name, "questions by difficulty bucket");
    struct svg_chart ch = {.w = 360,
                           .h = 220,
                           .title = "Difficulty buckets",
                           .x_label = "bucket",
                           .y_label = "questions",
                           .n = 4,
                           .cats = bucket_label,
                           .n_series = 4,
                           .series = s,
                           .stacked = 1,
                           .value_labels = 1};
    chart(o, &ch, 1);
    sbuf_adds(o, "</figure>");
    if (!x->with_rollouts) return;
    const char *cats[10];
    double p[10];
    struct labels L = {0};
    char t[32];
    for (int b = 0; b < 10; b++) {
        snprintf(t, sizeof t, "%d\xe2\x80\x93%d%%", b * 10, b * 10 + 10);
        cats[b] = lab(&L, t);
        p[b] = (double)x->pass_hist[b];
    }
    struct svg_series ps = {"questions", "#76b7b2", p, 0};
    fig_open(o, r->datasets[d].name, "pass rate over the rollouts");
    struct svg_chart pc = {.w = 360,
                           .h = 220,
                           .title = "Pass rates",
                           .x_label = "share of correct rollouts",
                           .y_label = "questions",
                           .n = 10,
                           .cats = cats,
                           .n_series = 1,
                           .series = &ps};
    chart(o, &pc, 1);
    sbuf_adds(o, "</figure>");
    labels_free(&L);
}

static void sec_difficulty(struct sbuf *o, const struct report *r, int no)
{
    section_open(o, "difficulty", no, section_title[no - 1],
                 "Difficulty of each question as pare schedule rated it: the pass rate over its "
                 "rollouts (easy at least 2/3, hard below 1/3, as LASER-D), or without rollouts "
                 "the size and cost of its mined set.");
    int n = 0;
    sbuf_adds(o, "<div class=\"grid\">");
    for (int d = 0; d < r->n_datasets; d++) {
        const struct report_difficulty *x = &r->difficulty[d];
        if (x->bucket[0] + x->bucket[1] + x->bucket[2] + x->bucket[3] == 0) continue;
        difficulty_figs(o, r, d);
        n++;
    }
    sbuf_adds(o, "</div>");
    if (!n)
        empty(o, "No difficulty ratings yet: run <code>pare schedule</code>.");
    else {
        sbuf_adds(o, "<p class=\"note\">Rated from ");
        h(o, strcmp(r->difficulty_source, "evidence_set") == 0 ? "the mined sets"
                                                               : r->difficulty_source);
        sbuf_adds(o, ".</p>");
    }
    sbuf_adds(o, "</section>");
}

/* ---- 9. curricula ---- */

static void plan_fig(struct sbuf *o, const struct report *r, int p)
{
    int n = 0, first = -1, epochs = 0;
    for (int i = 0; i < r->n_batches; i++)
        if (r->batches[i].plan == p) {
            if (first < 0) first = i;
            epochs |= r->batches[i].epoch != r->batches[first].epoch;
            n++;
        }
    struct labels L = {0};
    const char **cats = xcalloc((size_t)n + 1, sizeof *cats);
    double *v[4];
    for (int k = 0; k < 4; k++) v[k] = xcalloc((size_t)n + 1, sizeof **v);
    int64_t tot[4] = {0};
    char t[64];
    for (int i = first, j = 0; j < n; i++) {
        const struct report_batch *b = &r->batches[i];
        if (b->plan != p) continue;
        if (epochs)
            snprintf(t, sizeof t, "%lld.%lld", (long long)b->epoch, (long long)b->batch);
        else
            snprintf(t, sizeof t, "%lld", (long long)b->batch);
        cats[j] = lab(&L, t);
        for (int k = 0; k < 4; k++) v[k][j] = (double)b->bucket[k], tot[k] += b->bucket[k];
        j++;
    }
    struct svg_series s[4];
    for (int k = 0; k < 4; k++)
        s[k] = (struct svg_series){bucket_label[k], bucket_color[k], v[k], 0};
    fig_open(o, r->plans[p], "prompts per batch by difficulty");
    struct svg_chart ch = {.w = 1100,
                           .h = 260,
                           .title = "Curriculum batches",
                           .x_label = epochs ? "epoch.batch, in training order"
                                             : "batch, in training order",
                           .y_label = "prompts",
                           .n = n,
                           .cats = cats,
                           .n_series = 4,
                           .series = s,
                           .stacked = 1,
                           .value_labels = n <= 30};
    chart(o, &ch, 1);
    sbuf_addf(o, "<p class=\"note\">%d batches: ", n);
    for (int k = 0; k < 4; k++) {
        add_int(o, tot[k]);
        sbuf_addf(o, " %s%s", bucket_label[k], k < 3 ? ", " : " prompts.</p>");
    }
    sbuf_adds(o, "</figure>");
    for (int k = 0; k < 4; k++) free(v[k]);
    free(cats);
    labels_free(&L);
}

static void sec_curricula(struct sbuf *o, const struct report *r, int no)
{
    section_open(o, "curricula", no, section_title[no - 1],
                 "The composition of each curriculum plan, batch by batch in the order a trainer "
                 "reads it, by the difficulty of its prompts.");
    sbuf_adds(o, "<div class=\"grid wide\">");
    for (int p = 0; p < r->n_plans; p++) plan_fig(o, r, p);
    sbuf_adds(o, "</div>");
    if (!r->n_plans) empty(o, "No curriculum yet: plan one with <code>pare schedule</code>.");
    sbuf_adds(o, "</section>");
}

/* ---- 10. judges ---- */

static void verdicts_fig(struct sbuf *o, const struct report *r)
{
    int n = r->n_judges;
    const char **cats = xcalloc((size_t)n + 1, sizeof *cats);
    double *v[4];
    for (int k = 0; k < 4; k++) v[k] = xcalloc((size_t)n + 1, sizeof **v);
    for (int i = 0; i < n; i++) {
        const struct report_judge *j = &r->judges[i];
        cats[i] = j->judge;
        v[0][i] = (double)j->sufficient, v[1][i] = (double)j->insufficient;
        v[2][i] = (double)j->errors, v[3][i] = (double)j->pending;
    }
    struct svg_series s[4] = {{"sufficient", C_SUFFICIENT, v[0], 0},
                              {"insufficient", C_INSUFFICIENT, v[1], 0},
                              {"error", C_ERROR, v[2], 0},
                              {"no verdict yet", C_FULL, v[3], 0}};
    fig_open(o, "Verdicts", "judge calls stored, by outcome");
    struct svg_chart ch = {.w = 360,
                           .h = 70 + 28 * n,
                           .title = "Judge verdicts",
                           .y_label = "calls",
                           .n = n,
                           .cats = cats,
                           .n_series = 4,
                           .series = s,
                           .stacked = 1,
                           .horizontal = 1,
                           .value_labels = 1};
    chart(o, &ch, 1);
    sbuf_adds(o, "</figure>");
    for (int k = 0; k < 4; k++) free(v[k]);
    free(cats);
}

static void latency_fig(struct sbuf *o, const struct report_judge *j)
{
    int last = 0;
    for (int b = 0; b < REPORT_BINS; b++)
        if (j->latency_hist[b]) last = b;
    const char *cats[REPORT_BINS];
    double v[REPORT_BINS];
    struct labels L = {0};
    char t[48];
    for (int b = 0; b <= last; b++) {
        long long a = 1ll << b;
        if (a >= 1000)
            snprintf(t, sizeof t, "%.3g s", (double)a / 1000);
        else
            snprintf(t, sizeof t, "%lld ms", a);
        cats[b] = lab(&L, t);
        v[b] = (double)j->latency_hist[b];
    }
    struct svg_series s = {"calls", C_INSUFFICIENT, v, 0};
    fig_open(o, j->judge, "latency per call");
    struct svg_chart ch = {.w = 360,
                           .h = 220,
                           .title = "Judge latency",
                           .x_label = "latency from (each bar up to twice as long)",
                           .y_label = "calls",
                           .n = last + 1,
                           .cats = cats,
                           .n_series = 1,
                           .series = &s};
    chart(o, &ch, 1);
    sbuf_addf(o, "<p class=\"note\">mean %.0f ms, slowest %lld ms over ",
              (double)j->latency_ms_sum / (double)j->latency_n, (long long)j->latency_ms_max);
    add_int(o, j->latency_n);
    sbuf_adds(o, " timed calls</p></figure>");
    labels_free(&L);
}

static void tokens_table(struct sbuf *o, const struct report *r)
{
    int64_t any = 0;
    for (int i = 0; i < r->n_judges; i++) any += r->judges[i].tokens_n;
    sbuf_adds(o, "<h3>Tokens</h3>");
    if (!r->has_token_columns || !any) {
        empty(o, r->has_token_columns
                     ? "No token counts recorded: none of these judges reported tokens (the "
                       "lexical and exec judges use none)."
                     : "No token counts recorded: this database keeps no token counts per judge "
                       "call.");
        return;
    }
    sbuf_adds(o, "<div class=\"scroll\"><table class=\"tokens\"><thead><tr><th>judge</th>"
                 "<th class=\"num\">calls with counts</th><th class=\"num\">prompt tokens</th>"
                 "<th class=\"num\">completion tokens</th><th class=\"num\">per call</th>"
                 "</tr></thead><tbody>");
    for (int i = 0; i < r->n_judges; i++) {
        const struct report_judge *j = &r->judges[i];
        if (!j->tokens_n) continue;
        sbuf_adds(o, "<tr><td><code>");
        h(o, j->judge);
        sbuf_adds(o, "</code></td><td class=\"num\">");
        add_int(o, j->tokens_n);
        sbuf_adds(o, "</td><td class=\"num\">");
        add_int(o, j->prompt_tokens);
        sbuf_adds(o, "</td><td class=\"num\">");
        add_int(o, j->completion_tokens);
        sbuf_addf(o, "</td><td class=\"num\">%.0f + %.0f</td></tr>",
                  (double)j->prompt_tokens / (double)j->tokens_n,
                  (double)j->completion_tokens / (double)j->tokens_n);
    }
    sbuf_adds(o, "</tbody></table></div>");
}

static void tokens_fig(struct sbuf *o, const struct report *r)
{
    int n = 0;
    const char **cats = xcalloc((size_t)r->n_judges + 1, sizeof *cats);
    double *pv = xcalloc((size_t)r->n_judges + 1, sizeof *pv);
    double *cv = xcalloc((size_t)r->n_judges + 1, sizeof *cv);
    for (int i = 0; i < r->n_judges; i++) {
        const struct report_judge *j = &r->judges[i];
        if (!j->tokens_n) continue;
        cats[n] = j->judge;
        pv[n] = (double)j->prompt_tokens, cv[n++] = (double)j->completion_tokens;
    }
    if (n && r->has_token_columns) {
        struct svg_series s[2] = {{"prompt", C_INSUFFICIENT, pv, 0},
                                  {"completion", C_MEDIUM, cv, 0}};
        fig_open(o, "Tokens", "prompt and completion tokens per judge");
        struct svg_chart ch = {.w = 360,
                               .h = 70 + 28 * n,
                               .title = "Judge tokens",
                               .y_label = "tokens",
                               .n = n,
                               .cats = cats,
                               .n_series = 2,
                               .series = s,
                               .stacked = 1,
                               .horizontal = 1,
                               .value_labels = 1};
        chart(o, &ch, 1);
        sbuf_adds(o, "</figure>");
    }
    free(cats);
    free(pv);
    free(cv);
}

static void errors_table(struct sbuf *o, const struct report *r)
{
    int64_t errors = 0;
    for (int i = 0; i < r->n_judges; i++) errors += r->judges[i].errors;
    sbuf_adds(o, "<h3>Errors</h3>");
    if (!errors) {
        empty(o, "No judge call failed.");
        return;
    }
    sbuf_adds(o, "<div class=\"scroll\"><table class=\"errors\"><thead><tr><th>judge</th>"
                 "<th>most frequent errors</th><th class=\"num\">calls</th></tr></thead><tbody>");
    for (int i = 0; i < r->n_judges; i++)
        for (int k = 0; k < r->judges[i].n_top_errors; k++) {
            sbuf_adds(o, "<tr><td><code>");
            h(o, r->judges[i].judge);
            sbuf_adds(o, "</code></td><td>");
            h(o, r->judges[i].top_errors[k].text);
            sbuf_adds(o, "</td><td class=\"num\">");
            add_int(o, r->judges[i].top_errors[k].count);
            sbuf_adds(o, "</td></tr>");
        }
    sbuf_adds(o, "</tbody></table></div>");
}

static void sec_judges(struct sbuf *o, const struct report *r, int no)
{
    section_open(o, "judges", no, section_title[no - 1],
                 "Every stored judge call by outcome, how long calls took, the tokens LLM judges "
                 "spent and the errors they met. A failed call is kept as an error, never as a "
                 "verdict, and asked again by the next run.");
    if (!r->n_judges) {
        empty(o, "No judge calls yet: mine sets with <code>pare mine</code>.");
        sbuf_adds(o, "</section>");
        return;
    }
    sbuf_adds(o, "<div class=\"grid\">");
    verdicts_fig(o, r);
    tokens_fig(o, r);
    for (int i = 0; i < r->n_judges; i++)
        if (r->judges[i].latency_n) latency_fig(o, &r->judges[i]);
    sbuf_adds(o, "</div>");
    tokens_table(o, r);
    errors_table(o, r);
    sbuf_adds(o, "</section>");
}

/* ---- 11. examples ---- */

/* The answers array as "a / b / c" (escaped); the raw text when it is not a JSON array. */
static void answers(struct sbuf *o, const char *json)
{
    json_error_t je;
    json_t *a = json_loads(json, 0, &je);
    if (!json_is_array(a)) {
        h(o, json);
    } else {
        size_t i;
        json_t *v;
        json_array_foreach(a, i, v)
        {
            if (i) sbuf_adds(o, " / ");
            h(o, json_is_string(v) ? json_string_value(v) : "?");
        }
    }
    json_decref(a);
}

static void example_marks(struct sbuf *o, const struct report *r,
                          const struct report_example_passage *p)
{
    if (p->is_gold) sbuf_adds(o, "<span class=\"tag gold\">gold</span>");
    for (int u = 0; u < r->n_runs && u < 64; u++) {
        if (!(p->in_runs >> u & 1)) continue;
        sbuf_adds(o, "<span class=\"tag mined\">mined");
        if (r->n_runs > 1) {
            sbuf_adds(o, ": ");
            h(o, r->runs[u].method);
        }
        sbuf_adds(o, "</span>");
    }
}

static void example_passages(struct sbuf *o, const struct report *r, const struct report_example *x)
{
    sbuf_adds(o, "<table><thead><tr><th class=\"num\">rank</th><th>passage</th><th>marks</th>"
                 "</tr></thead><tbody>");
    for (int i = 0; i < x->n_passages; i++) {
        const struct report_example_passage *p = &x->passages[i];
        sbuf_addf(o, "<tr%s><td class=\"num\">", p->is_gold ? " class=\"gold\"" : "");
        if (p->rank > 0)
            sbuf_addf(o, "%lld", (long long)p->rank);
        else
            sbuf_adds(o, "\xe2\x80\x94");
        sbuf_adds(o, "</td><td class=\"t\"><b>");
        h(o, p->title);
        sbuf_adds(o, "</b>");
        if (p->rank <= 0) sbuf_adds(o, " <span class=\"note\">(not among the candidates)</span>");
        sbuf_adds(o, "<div>");
        svg_escape_cut(o, p->text, 260);
        sbuf_adds(o, "</div></td><td>");
        example_marks(o, r, p);
        sbuf_adds(o, "</td></tr>");
    }
    sbuf_adds(o, "</tbody></table>");
}

static void example(struct sbuf *o, const struct report *r, const struct report_example *x)
{
    struct sbuf b = {0};
    run_name(&b, &r->runs[x->run]);
    sbuf_adds(o, "<div class=\"ex\"><div class=\"meta\">");
    h(o, r->datasets[x->ds].name);
    sbuf_adds(o, " \xc2\xb7 question <code>");
    h(o, x->ext_id);
    sbuf_adds(o, "</code>");
    if (*x->qtype) {
        sbuf_adds(o, " \xc2\xb7 ");
        h(o, x->qtype);
    }
    sbuf_adds(o, " \xc2\xb7 <b>");
    h(o, x->why);
    sbuf_adds(o, "</b>");
    if (x->f1 >= 0) sbuf_addf(o, " (F1 %.3f)", x->f1);
    sbuf_adds(o, "</div><p class=\"q\">");
    h(o, x->question);
    sbuf_adds(o, "</p><div class=\"meta\">Answer: ");
    answers(o, x->answers);
    sbuf_adds(o, " \xc2\xb7 set mined by <code>");
    h(o, b.p);
    if (x->retrieval)
        sbuf_addf(o, "</code> \xc2\xb7 candidates of retrieval #%lld", (long long)x->retrieval);
    else
        sbuf_adds(o, "</code> \xc2\xb7 the question's own passages");
    sbuf_adds(o, "</div>");
    example_passages(o, r, x);
    sbuf_adds(o, "</div>");
    sbuf_free(&b);
}

static void sec_examples(struct sbuf *o, const struct report *r, int no)
{
    section_open(o, "examples", no, section_title[no - 1],
                 "A few questions with their best-ranked candidates, the gold passages and the "
                 "mined set marked: one where the set equals gold, the one furthest from it, and "
                 "one where no subset sufficed, when the dataset has them.");
    for (int i = 0; i < r->n_examples; i++) example(o, r, &r->examples[i]);
    if (!r->n_examples) empty(o, "No examples: there are no mined sets yet (or --examples 0).");
    sbuf_adds(o, "</section>");
}

void report_html(const struct report *r, struct sbuf *out)
{
    static void (*const sections[])(struct sbuf *, const struct report *, int) = {
        sec_overview, sec_sizes,      sec_agreement, sec_calls,  sec_recall,  sec_negatives,
        sec_rewards,  sec_difficulty, sec_curricula, sec_judges, sec_examples};
    page_head(out, r);
    for (size_t i = 0; i < ARRAY_SIZE(sections); i++) sections[i](out, r, (int)i + 1);
    page_foot(out, r);
}
