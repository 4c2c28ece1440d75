/* curves.svg: loss and accuracy (or RMSE) per epoch, train and validation, as a plain SVG. */
#include "run/run_dir.h"

#include <math.h>
#include <stdlib.h>

#include "core/ns_file.h"
#include "core/ns_util.h"

struct panel {
    double x, y, w, h; /* the plot area inside the axes */
    double lo, hi;     /* y range */
    size_t epochs;
};

static double px(const struct panel *p, size_t i)
{
    return p->epochs > 1 ? p->x + p->w * (double)i / (double)(p->epochs - 1) : p->x + p->w / 2;
}

static double py(const struct panel *p, double v)
{
    return p->y + p->h - p->h * (v - p->lo) / (p->hi - p->lo);
}

/* A step of 1, 2 or 5 times a power of ten giving about `want` intervals. */
static double nice_step(double range, int want)
{
    double raw = range / want;
    double mag = pow(10, floor(log10(raw)));
    double f = raw / mag;
    return (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10) * mag;
}

static void series(struct ns_buf *b, const struct panel *p, const struct train_epoch *h, size_t n, bool val,
                   bool loss, const char *color, const char *dash)
{
    ns_buf_printf(b, "  <polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\"%s points=\"", color, dash);
    size_t drawn = 0;
    for (size_t i = 0; i < n; i++) {
        double v = loss ? (val ? h[i].val_loss : h[i].train_loss) : (val ? h[i].val_metric : h[i].train_metric);
        if (!isfinite(v))
            continue;
        ns_buf_printf(b, "%s%.1f,%.1f", drawn++ ? " " : "", px(p, i), py(p, v));
    }
    ns_buf_puts(b, "\"/>\n");
    for (size_t i = 0; i < n; i++) {
        double v = loss ? (val ? h[i].val_loss : h[i].train_loss) : (val ? h[i].val_metric : h[i].train_metric);
        if (isfinite(v))
            ns_buf_printf(b, "  <circle cx=\"%.1f\" cy=\"%.1f\" r=\"2.5\" fill=\"%s\"/>\n", px(p, i), py(p, v), color);
    }
}

static void draw_panel(struct ns_buf *b, double ox, const char *title, const struct train_epoch *h, size_t n,
                       bool loss, bool percent)
{
    struct panel p = {.x = ox + 60, .y = 40, .w = 360, .h = 240, .epochs = n};
    double lo = INFINITY, hi = -INFINITY;
    for (size_t i = 0; i < n; i++) {
        double v[2] = {loss ? h[i].train_loss : h[i].train_metric, loss ? h[i].val_loss : h[i].val_metric};
        for (int k = 0; k < 2; k++)
            if (isfinite(v[k])) {
                lo = fmin(lo, v[k]);
                hi = fmax(hi, v[k]);
            }
    }
    if (!isfinite(lo)) {
        lo = 0;
        hi = 1;
    }
    if (hi - lo < 1e-9) {
        hi += 0.5 * (fabs(hi) > 0 ? fabs(hi) * 0.1 : 1);
        lo -= 0.5 * (fabs(lo) > 0 ? fabs(lo) * 0.1 : 1);
    }
    double step = nice_step(hi - lo, 5);
    p.lo = floor(lo / step) * step;
    p.hi = ceil(hi / step) * step;
    ns_buf_printf(b, "  <text x=\"%.1f\" y=\"24\" text-anchor=\"middle\" font-weight=\"bold\">", p.x + p.w / 2);
    ns_buf_puts(b, title);
    ns_buf_puts(b, "</text>\n");
    ns_buf_printf(b, "  <rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" stroke=\"#444\"/>\n",
                  p.x, p.y, p.w, p.h);
    for (double t = p.lo; t <= p.hi + step * 1e-6; t += step) {
        double y = py(&p, t);
        ns_buf_printf(b, "  <line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>\n", p.x, y,
                      p.x + p.w, y);
        if (percent)
            ns_buf_printf(b, "  <text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%.4g%%</text>\n", p.x - 6, y + 4,
                          t * 100);
        else
            ns_buf_printf(b, "  <text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%.4g</text>\n", p.x - 6, y + 4, t);
    }
    size_t every = n > 10 ? (n + 9) / 10 : 1;
    for (size_t i = 0; i < n; i += every)
        ns_buf_printf(b, "  <text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%zu</text>\n", px(&p, i),
                      p.y + p.h + 16, i + 1);
    ns_buf_printf(b, "  <text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">epoch</text>\n", p.x + p.w / 2,
                  p.y + p.h + 34);
    series(b, &p, h, n, false, loss, "#1f77b4", "");
    series(b, &p, h, n, true, loss, "#d62728", " stroke-dasharray=\"6 4\"");
}

bool run_dir_write_curves(struct ns_diag *diag, const char *dir, const char *title,
                         const struct train_epoch *history, size_t count, bool regression)
{
    struct ns_buf b = {0};
    ns_buf_puts(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                    "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"900\" height=\"360\" "
                    "viewBox=\"0 0 900 360\" font-family=\"sans-serif\" font-size=\"12\">\n"
                    "  <rect width=\"900\" height=\"360\" fill=\"white\"/>\n  <title>");
    /* The title is the run's name: escape what XML would read as markup. */
    for (const char *p = title ? title : ""; *p; p++) {
        if (*p == '<')
            ns_buf_puts(&b, "&lt;");
        else if (*p == '>')
            ns_buf_puts(&b, "&gt;");
        else if (*p == '&')
            ns_buf_puts(&b, "&amp;");
        else
            ns_buf_append(&b, p, 1);
    }
    ns_buf_puts(&b, "</title>\n");
    draw_panel(&b, 0, "loss", history, count, true, false);
    draw_panel(&b, 450, regression ? "RMSE" : "accuracy", history, count, false, !regression);
    ns_buf_puts(&b, "  <line x1=\"330\" y1=\"344\" x2=\"360\" y2=\"344\" stroke=\"#1f77b4\" stroke-width=\"2\"/>\n"
                    "  <text x=\"366\" y=\"348\">train</text>\n"
                    "  <line x1=\"430\" y1=\"344\" x2=\"460\" y2=\"344\" stroke=\"#d62728\" stroke-width=\"2\" "
                    "stroke-dasharray=\"6 4\"/>\n"
                    "  <text x=\"466\" y=\"348\">validation</text>\n</svg>\n");
    char *path = ns_path_join(dir, "curves.svg");
    bool ok = ns_file_replace_text(diag, path, b.data);
    free(path);
    ns_buf_free(&b);
    return ok;
}
