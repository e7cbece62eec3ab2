/*
 * svg.c - see svg.h. A chart is laid out in three steps: margins from the labels it must hold
 * (value ticks, axis titles, legend rows), a value scale with round ticks, then the marks.
 * Coordinates are written with one decimal: enough for a screen or a printer, and small files.
 */
#include "common/svg.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

const char *const svg_palette[10] = {"#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2",
                                     "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"};

#define FONT_PX 11.0
#define CHAR_W (FONT_PX * 0.62) /* average advance of a sans-serif character (DejaVu is wide) */
#define INK "#333"
#define GRID "#e3e3e3"
#define AXIS "#8a8a8a"

/* ---- escaping ---- */

/* Length of the UTF-8 sequence starting at s (1..4), or 0 when it is not valid UTF-8. */
static size_t utf8_seq(const unsigned char *s)
{
    unsigned c = s[0];
    size_t n;
    unsigned min;
    if (c < 0x80) return 1;
    if (c >= 0xc2 && c <= 0xdf)
        n = 2, min = 0x80;
    else if (c >= 0xe0 && c <= 0xef)
        n = 3, min = 0x800;
    else if (c >= 0xf0 && c <= 0xf4)
        n = 4, min = 0x10000;
    else
        return 0;
    unsigned cp = c & (0x3fu >> (n - 1));
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80) return 0;
        cp = cp << 6 | (s[i] & 0x3fu);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
    return n;
}

void svg_escape_cut(struct sbuf *out, const char *s, size_t max_chars)
{
    if (!s) return;
    const unsigned char *p = (const unsigned char *)s;
    for (size_t chars = 0; *p; chars++) {
        if (chars == max_chars) {
            sbuf_adds(out, "\xe2\x80\xa6"); /* U+2026 ellipsis */
            return;
        }
        size_t n = utf8_seq(p);
        if (n == 0) {
            sbuf_adds(out, "\xef\xbf\xbd"); /* U+FFFD replacement character */
            p++;
            continue;
        }
        switch (*p) {
        case '&':
            sbuf_adds(out, "&amp;");
            break;
        case '<':
            sbuf_adds(out, "&lt;");
            break;
        case '>':
            sbuf_adds(out, "&gt;");
            break;
        case '"':
            sbuf_adds(out, "&quot;");
            break;
        case '\'':
            sbuf_adds(out, "&#39;");
            break;
        default:
            if (*p >= 0x20 || *p == '\t' || *p == '\n')
                sbuf_add(out, p, n);
            else
                chars--; /* a dropped control character takes no room */
        }
        p += n;
    }
}

void svg_escape(struct sbuf *out, const char *s)
{
    svg_escape_cut(out, s, (size_t)-1);
}

/* Code points of s (invalid bytes count one each), for width estimates. */
static size_t text_chars(const char *s)
{
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)s; p && *p; n++) {
        size_t k = utf8_seq(p);
        p += k ? k : 1;
    }
    return n;
}

/* ---- scales ---- */

double svg_nice_max(double max, int ticks, double *step)
{
    if (!(max > 0) || !isfinite(max)) {
        *step = ticks > 0 ? 1.0 / ticks : 0.25;
        return 1;
    }
    if (ticks < 1) ticks = 1;
    double raw = max / ticks, mag = pow(10, floor(log10(raw)));
    static const double mult[] = {1, 2, 2.5, 5, 10};
    double s = mag * 10;
    for (size_t i = 0; i < ARRAY_SIZE(mult); i++)
        if (mag * mult[i] >= raw * (1 - 1e-9)) {
            s = mag * mult[i];
            break;
        }
    *step = s;
    return ceil(max / s - 1e-9) * s;
}

/* A value tick label: decimals as asked, or as a percentage. */
static void fmt_value(struct sbuf *b, const struct svg_chart *c, double v, int extra_decimals)
{
    int d = c->y_decimals + extra_decimals;
    if (c->percent) {
        sbuf_addf(b, "%.*f%%", d, v * 100);
    } else if (d > 0 || !(fabs(v) < 1e15)) {
        sbuf_addf(b, "%.*f", d, v);
    } else { /* a whole number, in groups of three digits */
        char t[32];
        long long n = llround(v);
        int len = snprintf(t, sizeof t, "%lld", n < 0 ? -n : n);
        if (n < 0) sbuf_addc(b, '-');
        for (int i = 0; i < len; i++) {
            if (i && (len - i) % 3 == 0) sbuf_addc(b, ',');
            sbuf_addc(b, t[i]);
        }
    }
}

/* The largest value the value axis must show. */
static double data_max(const struct svg_chart *c, int bars)
{
    double m = 0;
    for (int i = 0; i < c->n; i++) {
        double sum = 0;
        for (int s = 0; s < c->n_series; s++) {
            double v = c->series[s].v[i];
            if (!isfinite(v)) continue;
            if (bars && c->stacked)
                sum += v > 0 ? v : 0;
            else if (v > m)
                m = v;
        }
        if (sum > m) m = sum;
    }
    return m;
}

/* ---- layout ---- */

struct frame {
    double x0, y0, x1, y1; /* plot area */
    double top, step;      /* value axis: 0 .. top in steps */
    double legend_y;       /* baseline of the first legend row */
};

static int show_legend(const struct svg_chart *c)
{
    if (c->compact) return 0;
    int named = 0;
    for (int s = 0; s < c->n_series; s++) named += c->series[s].name != NULL;
    return named > 0 && c->n_series > 1;
}

/* Legend rows needed across width w (items flow left to right). */
static int legend_rows(const struct svg_chart *c, double w)
{
    if (!show_legend(c)) return 0;
    int rows = 1;
    double x = 0;
    for (int s = 0; s < c->n_series; s++) {
        if (!c->series[s].name) continue;
        double iw = 18 + (double)text_chars(c->series[s].name) * CHAR_W + 14;
        if (x > 0 && x + iw > w) rows++, x = 0;
        x += iw;
    }
    return rows;
}

static void draw_legend(struct sbuf *o, const struct svg_chart *c, double x0, double w, double y,
                        int line)
{
    double x = 0;
    for (int s = 0; s < c->n_series; s++) {
        const struct svg_series *se = &c->series[s];
        if (!se->name) continue;
        double iw = 18 + (double)text_chars(se->name) * CHAR_W + 14;
        if (x > 0 && x + iw > w) y += 16, x = 0;
        if (line)
            sbuf_addf(o,
                      "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
                      "stroke-width=\"2.5\"%s/>",
                      x0 + x, y - 4, x0 + x + 13, y - 4, se->color,
                      se->dashed ? " stroke-dasharray=\"4 3\"" : "");
        else
            sbuf_addf(
                o, "<rect x=\"%.1f\" y=\"%.1f\" width=\"11\" height=\"11\" rx=\"2\" fill=\"%s\"/>",
                x0 + x, y - 9.5, se->color);
        sbuf_addf(o, "<text x=\"%.1f\" y=\"%.1f\">", x0 + x + 17, y);
        svg_escape(o, se->name);
        sbuf_adds(o, "</text>");
        x += iw;
    }
}

/* Widest value tick label, in characters. */
static size_t tick_chars(const struct svg_chart *c, double top, double step)
{
    size_t w = 1;
    struct sbuf b = {0};
    for (double v = 0; v <= top * (1 + 1e-9); v += step) {
        sbuf_reset(&b);
        fmt_value(&b, c, v, 0);
        if (b.len > w) w = b.len;
    }
    sbuf_free(&b);
    return w;
}

/* Characters of the value label of v (as bar_label prints it). */
static size_t label_chars(const struct svg_chart *c, double v)
{
    struct sbuf b = {0};
    fmt_value(&b, c, v, v != floor(v) || c->percent);
    size_t n = b.len;
    sbuf_free(&b);
    return n;
}

/*
 * Margins and value scale. left_extra: room for category labels on the left (horizontal bars).
 * A label of the value axis sits below (horizontal) or left of it.
 */
static void layout(const struct svg_chart *c, int bars, double left_extra, struct frame *f)
{
    double max = c->y_max > 0 ? c->y_max : data_max(c, bars);
    /* ticks about every 40 px up a vertical axis; across, as many as their labels allow */
    double span = c->horizontal ? c->w - left_extra - 30 : c->h - 60;
    double per = c->horizontal ? (double)label_chars(c, max) * CHAR_W + 28 : 40;
    int ticks = c->compact ? 2 : (int)fmax(2, fmin(6, floor(span / per)));
    f->top = svg_nice_max(max, ticks, &f->step);
    if (c->y_max > 0) f->top = c->y_max;
    /* tick labels show y_decimals decimals: a step of 2.5 units of the last one becomes 2 */
    double unit = pow(10, -(c->y_decimals + (c->percent ? 2 : 0)));
    if (fabs(f->step / unit - round(f->step / unit)) > 1e-6) {
        f->step = f->step / 1.25;
        if (c->y_max <= 0) f->top = ceil(max / f->step - 1e-9) * f->step;
    }
    if (!c->percent && c->y_decimals == 0 && f->step < 1) { /* counts: whole steps */
        f->step = 1;
        f->top = fmax(1, ceil(f->top - 1e-9));
    }
    int rows = legend_rows(c, c->w - 16);
    f->legend_y = 13;
    f->y0 = 8 + rows * 16 + (rows ? 4 : 0) + (c->value_labels && !c->horizontal ? 10 : 0);
    double below = c->compact && bars ? 4 : 18; /* compact bars have no category labels */
    if (c->horizontal) {
        /* value labels sit right of the bars: room for the widest, at the axis top */
        double labels = c->value_labels ? (double)label_chars(c, max) * CHAR_W + 6 : 0;
        f->x0 = left_extra + (c->x_label && !c->compact ? 16 : 0);
        f->x1 = c->w - 8 - fmax((double)tick_chars(c, f->top, f->step) * CHAR_W / 2, labels);
        f->y1 = c->h - below - (c->y_label && !c->compact ? 16 : 0);
    } else {
        f->x0 = 8 + (double)tick_chars(c, f->top, f->step) * CHAR_W +
                (c->y_label && !c->compact ? 16 : 0);
        f->x1 = c->w - 10;
        f->y1 = c->h - below - (c->x_label && !c->compact ? 16 : 0);
    }
}

static void open_svg(struct sbuf *o, const struct svg_chart *c)
{
    sbuf_addf(o,
              "<svg class=\"chart\" viewBox=\"0 0 %d %d\" width=\"100%%\" role=\"img\" "
              "font-family=\"system-ui, -apple-system, 'Segoe UI', Roboto, 'DejaVu Sans', "
              "sans-serif\" font-size=\"%.0f\" fill=\"" INK "\">",
              c->w, c->h, FONT_PX);
    if (c->title) {
        sbuf_adds(o, "<title>");
        svg_escape(o, c->title);
        sbuf_adds(o, "</title>");
    }
}

/* Axis titles: the category axis (x_label) and the value axis (y_label). */
static void axis_titles(struct sbuf *o, const struct svg_chart *c, const struct frame *f)
{
    if (c->compact) return;
    const char *bottom = c->horizontal ? c->y_label : c->x_label;
    const char *left = c->horizontal ? c->x_label : c->y_label;
    if (bottom) {
        sbuf_addf(o, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\" fill=\"#555\">",
                  (f->x0 + f->x1) / 2, c->h - 4);
        svg_escape(o, bottom);
        sbuf_adds(o, "</text>");
    }
    if (left) {
        double cy = (f->y0 + f->y1) / 2;
        sbuf_addf(o,
                  "<text transform=\"translate(12 %.1f) rotate(-90)\" text-anchor=\"middle\" "
                  "fill=\"#555\">",
                  cy);
        svg_escape(o, left);
        sbuf_adds(o, "</text>");
    }
}

/* Gridlines and labels of the value axis (vertical or horizontal). */
static void value_axis(struct sbuf *o, const struct svg_chart *c, const struct frame *f)
{
    struct sbuf lab = {0};
    int n = (int)floor(f->top / f->step + 1e-9);
    for (int i = 0; i <= n; i++) {
        double v = i * f->step;
        sbuf_reset(&lab);
        fmt_value(&lab, c, v, 0);
        if (c->horizontal) {
            double x = f->x0 + (f->x1 - f->x0) * v / f->top;
            sbuf_addf(o,
                      "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\"/>"
                      "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s</text>",
                      x, f->y0, x, f->y1, i ? GRID : AXIS, x, f->y1 + 13, lab.p);
        } else {
            double y = f->y1 - (f->y1 - f->y0) * v / f->top;
            sbuf_addf(o,
                      "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\"/>"
                      "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%s</text>",
                      f->x0, y, f->x1, y, i ? GRID : AXIS, f->x0 - 5, y + 3.5, lab.p);
        }
    }
    sbuf_free(&lab);
}

static int valid(const struct svg_chart *c, int bars)
{
    if (!c || c->w < 120 || c->h < 80 || c->w > 10000 || c->h > 10000) return 0;
    if (c->n < 1 || c->n_series < 1 || !c->series) return 0;
    if (bars ? !c->cats : !c->x) return 0;
    for (int s = 0; s < c->n_series; s++)
        if (!c->series[s].v || !c->series[s].color) return 0;
    if (!bars)
        for (int i = 0; i < c->n; i++)
            if (!isfinite(c->x[i]) || (c->log_x && c->x[i] <= 0) || (i && c->x[i] < c->x[i - 1]))
                return 0;
    return 1;
}

/* ---- bars ---- */

/* One bar: a rect from value a to b (a <= b) in band position [p0, p1], with a hover title. */
static void bar(struct sbuf *o, const struct svg_chart *c, const struct frame *f, double p0,
                double p1, double a, double b, int cat, int s, double v)
{
    const double span = c->horizontal ? f->x1 - f->x0 : f->y1 - f->y0;
    double ta = span * fmin(a, f->top) / f->top, tb = span * fmin(b, f->top) / f->top;
    if (c->horizontal)
        sbuf_addf(o, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\">",
                  f->x0 + ta, p0, tb - ta, p1 - p0, c->series[s].color);
    else
        sbuf_addf(o, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\">", p0,
                  f->y1 - tb, p1 - p0, tb - ta, c->series[s].color);
    sbuf_adds(o, "<title>");
    svg_escape(o, c->cats[cat]);
    if (c->series[s].name) {
        sbuf_adds(o, " \xc2\xb7 ");
        svg_escape(o, c->series[s].name);
    }
    sbuf_adds(o, ": ");
    fmt_value(o, c, v, 2);
    sbuf_adds(o, "</title></rect>");
}

/* The value printed at the end of a bar (value_labels). */
static void bar_label(struct sbuf *o, const struct svg_chart *c, const struct frame *f, double mid,
                      double v)
{
    const double span = c->horizontal ? f->x1 - f->x0 : f->y1 - f->y0;
    double t = span * fmin(v, f->top) / f->top;
    if (c->horizontal)
        sbuf_addf(o, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"10\">", f->x0 + t + 3, mid + 3.5);
    else
        sbuf_addf(o, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"10\" text-anchor=\"middle\">", mid,
                  f->y1 - t - 3);
    fmt_value(o, c, v, v != floor(v) || c->percent);
    sbuf_adds(o, "</text>");
}

/* The marks of category i within its band [b0, b1). */
static void bars_of(struct sbuf *o, const struct svg_chart *c, const struct frame *f, int i,
                    double b0, double b1)
{
    double band = b1 - b0, gap = band > 6 ? band * (c->stacked ? 0.25 : 0.2) : 0;
    double inner = c->stacked ? band - gap : (band - gap) / c->n_series, acc = 0;
    for (int s = 0; s < c->n_series; s++) {
        double v = c->series[s].v[i];
        if (!isfinite(v)) continue;
        double p0 = b0 + gap / 2 + (c->stacked ? 0 : s * inner);
        double lo = c->stacked ? acc : 0, hi = lo + (v > 0 ? v : 0);
        if (hi > lo) bar(o, c, f, p0, p0 + inner, lo, hi, i, s, v);
        if (c->value_labels && !c->stacked) bar_label(o, c, f, p0 + inner / 2, v);
        acc = hi;
    }
    if (c->value_labels && c->stacked && acc > 0) bar_label(o, c, f, (b0 + b1) / 2, acc);
}

/* Category labels, every k-th when they would not fit, cut to the room they have. */
/* Median label length of the categories, in characters. */
static double typical_chars(const struct svg_chart *c)
{
    size_t hist[64] = {0};
    for (int i = 0; i < c->n; i++) {
        size_t n = text_chars(c->cats[i]);
        hist[n < 63 ? n : 63]++;
    }
    int seen = 0;
    for (int k = 0; k < 64; k++)
        if ((seen += (int)hist[k]) * 2 >= c->n) return k;
    return 63;
}

/*
 * Category labels: every k-th when the typical one would not fit its band, cut to the room of
 * k bands, and one that would still overlap the last one drawn is left out.
 */
static void category_labels(struct sbuf *o, const struct svg_chart *c, const struct frame *f)
{
    double len = c->horizontal ? f->y1 - f->y0 : f->x1 - f->x0, band = len / c->n;
    int every = 1;
    double need = c->horizontal ? 13 : typical_chars(c) * CHAR_W + 6;
    while (every < c->n && band * every < need) every++;
    size_t room =
        c->horizontal ? (size_t)((f->x0 - 6) / CHAR_W) : (size_t)fmax(3, band * every / CHAR_W);
    double last_end = -1e9;
    for (int i = 0; i < c->n; i += every) {
        double mid = (c->horizontal ? f->y0 : f->x0) + band * (i + 0.5);
        size_t chars = text_chars(c->cats[i]);
        double half = (double)(chars < room ? chars : room) * CHAR_W / 2;
        if (c->horizontal) {
            sbuf_addf(o, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">", f->x0 - 6, mid + 3.5);
        } else {
            if (mid - half < last_end + 4) continue;
            last_end = mid + half;
            sbuf_addf(o, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">", mid, f->y1 + 13);
        }
        svg_escape_cut(o, c->cats[i], room);
        sbuf_adds(o, "</text>");
    }
}

int svg_bar_chart(struct sbuf *out, const struct svg_chart *c)
{
    if (!valid(c, 1)) return PARE_EUSAGE;
    double left = 0;
    if (c->horizontal) {
        size_t widest = 1;
        for (int i = 0; i < c->n; i++)
            if (text_chars(c->cats[i]) > widest) widest = text_chars(c->cats[i]);
        left = fmin(c->w * 0.4, 14 + (double)widest * CHAR_W);
    }
    struct frame f;
    layout(c, 1, left, &f);
    open_svg(out, c);
    value_axis(out, c, &f);
    double len = c->horizontal ? f.y1 - f.y0 : f.x1 - f.x0, band = len / c->n;
    double start = c->horizontal ? f.y0 : f.x0;
    for (int i = 0; i < c->n; i++) bars_of(out, c, &f, i, start + band * i, start + band * (i + 1));
    if (!c->compact) category_labels(out, c, &f);
    axis_titles(out, c, &f);
    if (show_legend(c)) draw_legend(out, c, 8, c->w - 16, f.legend_y, 0);
    sbuf_adds(out, "</svg>");
    return PARE_OK;
}

/* ---- lines ---- */

static double x_pos(const struct svg_chart *c, const struct frame *f, double lo, double hi,
                    double x)
{
    if (!(hi > lo)) return (f->x0 + f->x1) / 2;
    double t = c->log_x ? (log10(x) - log10(lo)) / (log10(hi) - log10(lo)) : (x - lo) / (hi - lo);
    return f->x0 + (f->x1 - f->x0) * t;
}

/* Ticks of the x axis: 1-2-5 decades on a log axis, round steps on a linear one. */
static void x_axis(struct sbuf *o, const struct svg_chart *c, const struct frame *f, double lo,
                   double hi)
{
    double ticks[64];
    int n = 0;
    if (c->log_x) {
        static const double m[] = {1, 2, 5};
        for (double d = pow(10, floor(log10(lo))); d <= hi && n < 60; d *= 10)
            for (size_t k = 0; k < 3; k++)
                if (d * m[k] >= lo * (1 - 1e-9) && d * m[k] <= hi * (1 + 1e-9))
                    ticks[n++] = d * m[k];
    } else {
        double step, top = svg_nice_max(hi - lo, c->compact ? 2 : 6, &step);
        (void)top;
        for (double v = ceil(lo / step - 1e-9) * step; v <= hi * (1 + 1e-9) && n < 60; v += step)
            ticks[n++] = v;
    }
    for (int i = 0; i < n; i++) {
        double x = x_pos(c, f, lo, hi, ticks[i]);
        sbuf_addf(o,
                  "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"" GRID "\"/>"
                  "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%g</text>",
                  x, f->y0, x, f->y1, x, f->y1 + 13, ticks[i]);
    }
}

static void polyline(struct sbuf *o, const struct svg_chart *c, const struct frame *f, double lo,
                     double hi, int s)
{
    const struct svg_series *se = &c->series[s];
    sbuf_addf(o, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\"%s points=\"", se->color,
              se->dashed ? " stroke-dasharray=\"5 3\"" : "");
    for (int i = 0; i < c->n; i++)
        if (isfinite(se->v[i]))
            sbuf_addf(o, "%.1f,%.1f ", x_pos(c, f, lo, hi, c->x[i]),
                      f->y1 - (f->y1 - f->y0) * fmin(fmax(se->v[i], 0), f->top) / f->top);
    sbuf_adds(o, "\"/>");
    int markers = c->n <= 24;
    for (int i = 0; i < c->n; i++) {
        if (!isfinite(se->v[i])) continue;
        double x = x_pos(c, f, lo, hi, c->x[i]);
        double y = f->y1 - (f->y1 - f->y0) * fmin(fmax(se->v[i], 0), f->top) / f->top;
        sbuf_addf(o, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"%s\" fill=\"%s\"><title>", x, y,
                  markers ? "2.8" : "4", markers ? se->color : "transparent");
        if (se->name) {
            svg_escape(o, se->name);
            sbuf_adds(o, ", ");
        }
        sbuf_addf(o, "%g: ", c->x[i]);
        fmt_value(o, c, se->v[i], 2);
        sbuf_adds(o, "</title></circle>");
    }
}

int svg_line_chart(struct sbuf *out, const struct svg_chart *c)
{
    if (!valid(c, 0) || c->horizontal) return PARE_EUSAGE;
    struct frame f;
    layout(c, 0, 0, &f);
    double lo = c->x[0], hi = c->x[c->n - 1];
    open_svg(out, c);
    value_axis(out, c, &f);
    x_axis(out, c, &f, lo, hi);
    sbuf_addf(out, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"" AXIS "\"/>",
              f.x0, f.y0, f.x0, f.y1);
    for (int s = 0; s < c->n_series; s++) polyline(out, c, &f, lo, hi, s);
    axis_titles(out, c, &f);
    if (show_legend(c)) draw_legend(out, c, 8, c->w - 16, f.legend_y, 1);
    sbuf_adds(out, "</svg>");
    return PARE_OK;
}
