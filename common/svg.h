/*
 * svg.h - charts as inline SVG for self-contained HTML pages (pare report): bar charts (grouped,
 * stacked, horizontal) and line charts, with axes, gridlines, tick labels, axis titles and a
 * legend, plus the escaping every string needs on its way into HTML or SVG.
 *
 * The output needs no script, no font and no stylesheet: each chart carries its sizes, colours
 * and fonts as attributes, and a hover title on every mark gives its exact value. Charts are
 * drawn into a viewBox of w x h CSS pixels with width 100%, so the page may scale them; text is
 * sized for the nominal size. Text width is estimated (no font metrics), so labels are
 * truncated or thinned out generously rather than measured.
 */
#ifndef PARE_SVG_H
#define PARE_SVG_H

#include "common/util.h"

/* One data series. */
struct svg_series {
    const char *name;  /* legend text (escaped on output); NULL keeps it out of the legend */
    const char *color; /* a CSS colour written as given: pass constants such as "#4e79a7" */
    const double *v;   /* one value per category (bars) or point (lines); NAN: no value */
    int dashed;        /* lines: dashed stroke */
};

/*
 * A chart. "Value axis" is the y axis of vertical bars and lines and the x axis of horizontal
 * bars; the y_* fields describe it whatever its direction.
 */
struct svg_chart {
    int w, h;                      /* nominal size in CSS pixels (at least 120 x 80) */
    const char *title;             /* accessible name (<title>), not drawn; may be NULL */
    const char *x_label, *y_label; /* category / value axis titles; NULL: none */
    int n;                         /* categories (bars) or points (lines), at least 1 */
    const char *const *cats;       /* bars: n category labels (escaped, truncated to fit) */
    const double *x;               /* lines: n increasing x values (> 0 with log_x) */
    int n_series;                  /* at least 1 */
    const struct svg_series *series;
    int stacked;      /* bars: stack the series in each category instead of grouping them */
    int horizontal;   /* bars: categories down the left side, bars growing right */
    int log_x;        /* lines: logarithmic x axis */
    double y_max;     /* value axis top; 0: a round number above the data */
    int y_decimals;   /* decimals of value tick labels */
    int percent;      /* values are shares in [0, 1], labelled as percentages */
    int value_labels; /* bars: print each bar's value at its end */
    int compact;      /* small multiple: no axis titles, few ticks, no legend */
};

/*
 * Appends the chart as one <svg> element. Bars start at 0 (negative values are drawn as 0);
 * NAN values are skipped. Returns PARE_OK, or PARE_EUSAGE when the description is invalid
 * (sizes, counts, missing arrays, log axis with x <= 0), in which case nothing is appended.
 */
int svg_bar_chart(struct sbuf *out, const struct svg_chart *c);
int svg_line_chart(struct sbuf *out, const struct svg_chart *c);

/*
 * Appends s escaped for HTML or SVG text and double- or single-quoted attribute values: & < > "
 * ' become entities, C0 control characters other than tab and newline are dropped, and bytes
 * that are not valid UTF-8 become U+FFFD, so no input can open markup or break the encoding.
 * NULL appends nothing.
 */
void svg_escape(struct sbuf *out, const char *s);

/* As svg_escape, at most max_chars code points of s, ending in an ellipsis when cut. */
void svg_escape_cut(struct sbuf *out, const char *s, size_t max_chars);

/*
 * A round axis top at or above max (> 0) reached in about `ticks` round steps (1, 2, 2.5 or 5
 * times a power of ten); *step receives the step. max <= 0 gives 1.
 */
double svg_nice_max(double max, int ticks, double *step);

/* A qualitative palette (Tableau 10) that stays distinct in print and for most colour vision. */
extern const char *const svg_palette[10];

#endif
