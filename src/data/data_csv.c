#include "data/data_csv.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ns_util.h"
#include "data/data_error.h"

/* A bad file usually repeats its mistake on every line; ten located errors show the pattern. */
enum { CSV_MAX_ERRORS = 10, CSV_HINT_COLUMNS = 20 };

struct csv_file {
    const char *path;
    char *data;
    size_t len;
    size_t pos;
    int line; /* of the line last returned */
};

struct csv_row {
    size_t count, cap;
    int *col;          /* 1-based column where each cell starts */
    int *span;         /* characters the cell covers in the line */
    size_t *text;      /* offset of each unquoted, NUL-terminated cell in `buf` */
    char *buf;
    size_t buf_cap;
};

struct csv_errors {
    struct ns_diag *diag;
    const char *path;
    int count;
};

static void csv_error(struct csv_errors *e, int line, int col, int span, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static void csv_error(struct csv_errors *e, int line, int col, int span, const char *fmt, ...)
{
    e->count++;
    if (e->count > CSV_MAX_ERRORS)
        return;
    va_list ap;
    va_start(ap, fmt);
    ns_diag_vadd(e->diag, NS_ERR_DATA, (struct ns_loc){e->path, line, col, span}, NULL, fmt, ap);
    va_end(ap);
    if (e->count == CSV_MAX_ERRORS)
        ns_diag_hint(e->diag, "further errors in \"%s\" are not listed", e->path);
}

static bool csv_open(struct ns_diag *diag, struct ns_loc spec_loc, const char *path, struct csv_file *f)
{
    memset(f, 0, sizeof *f);
    f->path = path;
    int err = 0;
    f->data = ns_read_file(path, 0, &f->len, &err);
    if (!f->data) {
        data_error(diag, spec_loc, path, NULL, "cannot open \"%s\": %s", path, strerror(err));
        return false;
    }
    if (f->len >= 3 && memcmp(f->data, "\xEF\xBB\xBF", 3) == 0)
        f->pos = 3; /* a UTF-8 byte order mark, as spreadsheet programs write */
    return true;
}

static void csv_close(struct csv_file *f)
{
    free(f->data);
    f->data = NULL;
}

/* The next line without its "\n" or "\r\n"; false at the end. */
static bool csv_next_line(struct csv_file *f, const char **line, size_t *len)
{
    if (f->pos >= f->len)
        return false;
    const char *start = f->data + f->pos;
    const char *nl = memchr(start, '\n', f->len - f->pos);
    size_t n = nl ? (size_t)(nl - start) : f->len - f->pos;
    f->pos += n + (nl ? 1 : 0);
    if (n > 0 && start[n - 1] == '\r')
        n--;
    f->line++;
    *line = start;
    *len = n;
    return true;
}

static bool csv_is_blank(const char *line, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (line[i] != ' ' && line[i] != '\t')
            return false;
    return true;
}

/* The next non-blank line; false at the end. */
static bool csv_next_row_line(struct csv_file *f, const char **line, size_t *len)
{
    while (csv_next_line(f, line, len))
        if (!csv_is_blank(*line, *len))
            return true;
    return false;
}

static void csv_row_free(struct csv_row *row)
{
    free(row->col);
    free(row->span);
    free(row->text);
    free(row->buf);
    memset(row, 0, sizeof *row);
}

static void csv_row_push(struct csv_row *row, int col, int span, size_t text)
{
    if (row->count == row->cap) {
        row->cap = row->cap ? row->cap * 2 : 16;
        row->col = ns_xrealloc(row->col, row->cap * sizeof *row->col);
        row->span = ns_xrealloc(row->span, row->cap * sizeof *row->span);
        row->text = ns_xrealloc(row->text, row->cap * sizeof *row->text);
    }
    row->col[row->count] = col;
    row->span[row->count] = span;
    row->text[row->count] = text;
    row->count++;
}

static const char *csv_cell(const struct csv_row *row, size_t i)
{
    return row->buf + row->text[i];
}

/* Splits one line into cells. An unterminated quote or text after a closing quote is a
 * located error. */
static bool csv_split(const char *line, size_t len, int lineno, struct csv_row *row, struct csv_errors *e)
{
    row->count = 0;
    /* Unquoted text is never longer than the line, plus one NUL per cell. */
    if (row->buf_cap < 2 * len + 2) {
        row->buf_cap = 2 * len + 2;
        row->buf = ns_xrealloc(row->buf, row->buf_cap);
    }
    size_t out = 0, i = 0;
    for (;;) {
        size_t cell_start = i;
        while (i < len && (line[i] == ' ' || line[i] == '\t'))
            i++;
        size_t text = out;
        size_t first = i;
        if (i < len && line[i] == '"') {
            i++;
            bool closed = false;
            while (i < len) {
                if (line[i] == '"') {
                    if (i + 1 < len && line[i + 1] == '"') {
                        row->buf[out++] = '"';
                        i += 2;
                        continue;
                    }
                    closed = true;
                    i++;
                    break;
                }
                row->buf[out++] = line[i++];
            }
            if (!closed) {
                csv_error(e, lineno, (int)first + 1, (int)(len - first),
                          "unterminated quote (a quoted cell must end on the same line)");
                return false;
            }
            while (i < len && (line[i] == ' ' || line[i] == '\t'))
                i++;
            if (i < len && line[i] != ',') {
                csv_error(e, lineno, (int)i + 1, 1, "unexpected '%c' after a quoted cell", line[i]);
                return false;
            }
        } else {
            while (i < len && line[i] != ',')
                row->buf[out++] = line[i++];
            while (out > text && (row->buf[out - 1] == ' ' || row->buf[out - 1] == '\t'))
                out--;
        }
        row->buf[out++] = '\0';
        size_t end = i;
        int col = (int)(first < end ? first : cell_start) + 1;
        int span = end > first ? (int)(end - first) : 1;
        csv_row_push(row, col, span, text);
        if (i >= len)
            break;
        i++; /* the comma */
    }
    return true;
}

void data_csv_header_free(struct data_csv_header *hdr)
{
    if (!hdr)
        return;
    for (size_t i = 0; i < hdr->column_count; i++)
        free(hdr->columns[i]);
    free(hdr->columns);
    memset(hdr, 0, sizeof *hdr);
}

/* Reads the header line of an open file into `out`; leaves f at the first data line. */
static bool csv_header(struct ns_diag *diag, struct ns_loc spec_loc, struct csv_file *f,
                       struct data_csv_header *out, int *header_line, int *header_len)
{
    const char *line;
    size_t len;
    if (!csv_next_row_line(f, &line, &len)) {
        data_error(diag, spec_loc, f->path, NULL,
                   "\"%s\" is empty: expected a header row of column names", f->path);
        return false;
    }
    *header_line = f->line;
    *header_len = (int)len;
    struct csv_errors e = {diag, f->path, 0};
    struct csv_row row = {0};
    if (!csv_split(line, len, f->line, &row, &e)) {
        csv_row_free(&row);
        return false;
    }
    for (size_t i = 0; i < row.count; i++) {
        if (csv_cell(&row, i)[0] == '\0')
            csv_error(&e, f->line, row.col[i], row.span[i],
                      "column %zu has no name (the first line must name every column)", i + 1);
        for (size_t j = 0; j < i; j++)
            if (strcmp(csv_cell(&row, i), csv_cell(&row, j)) == 0 && csv_cell(&row, i)[0])
                csv_error(&e, f->line, row.col[i], row.span[i],
                          "column \"%s\" appears twice (columns %zu and %zu)", csv_cell(&row, i), j + 1, i + 1);
    }
    if (e.count) {
        csv_row_free(&row);
        return false;
    }
    out->column_count = row.count;
    out->columns = ns_xcalloc(row.count, sizeof *out->columns);
    for (size_t i = 0; i < row.count; i++)
        out->columns[i] = ns_xstrdup(csv_cell(&row, i));
    out->row_count = 0;
    csv_row_free(&row);
    return true;
}

static size_t csv_count_rows(struct csv_file *f)
{
    size_t save_pos = f->pos;
    int save_line = f->line;
    size_t n = 0;
    const char *line;
    size_t len;
    while (csv_next_row_line(f, &line, &len))
        n++;
    f->pos = save_pos;
    f->line = save_line;
    return n;
}

bool data_csv_read_header(struct ns_diag *diag, struct ns_loc spec_loc, const char *path,
                          struct data_csv_header *out)
{
    struct csv_file f;
    if (!csv_open(diag, spec_loc, path, &f))
        return false;
    int header_line, header_len;
    struct data_csv_header hdr = {0};
    bool ok = csv_header(diag, spec_loc, &f, &hdr, &header_line, &header_len);
    if (ok) {
        hdr.row_count = csv_count_rows(&f);
        *out = hdr;
    }
    csv_close(&f);
    return ok;
}

long data_csv_find_column(struct ns_diag *diag, const struct data_csv_header *hdr, const char *path,
                          const char *name, struct ns_loc name_loc)
{
    for (size_t i = 0; i < hdr->column_count; i++)
        if (strcmp(hdr->columns[i], name) == 0)
            return (long)i;
    struct ns_buf hint = {0};
    const char *best = ns_closest(name, (const char *const *)hdr->columns, hdr->column_count);
    if (best)
        ns_buf_printf(&hint, "did you mean \"%s\"? ", best);
    ns_buf_puts(&hint, "columns: ");
    for (size_t i = 0; i < hdr->column_count && i < CSV_HINT_COLUMNS; i++)
        ns_buf_printf(&hint, "%s%s", i ? ", " : "", hdr->columns[i]);
    if (hdr->column_count > CSV_HINT_COLUMNS)
        ns_buf_printf(&hint, ", ... (%zu in all)", hdr->column_count);
    struct ns_loc loc = name_loc.file ? name_loc : (struct ns_loc){path, 1, 1, 1};
    ns_diag_add(diag, NS_ERR_DATA, loc, hint.data, "no column \"%s\" in \"%s\"", name, path);
    ns_buf_free(&hint);
    return -1;
}

/* The label column must exist and leave at least one feature. */
static long csv_label_index(struct ns_diag *diag, struct ns_loc spec_loc, const char *path,
                            const struct data_csv_header *hdr, const struct data_csv_opts *opts,
                            int header_line, int header_len)
{
    struct ns_loc name_loc = opts->label_loc.file ? opts->label_loc
                                                  : (struct ns_loc){path, header_line, 1, header_len};
    long label = data_csv_find_column(diag, hdr, path, opts->label_column, name_loc);
    if (label < 0)
        return -1;
    if (hdr->column_count < 2) {
        data_error(diag, spec_loc, path, NULL, "\"%s\" has no feature columns besides \"%s\"", path,
                   opts->label_column);
        return -1;
    }
    return label;
}

bool data_csv_check(struct ns_diag *diag, struct ns_loc spec_loc, const char *path,
                    const struct data_csv_opts *opts, struct data_header *out)
{
    struct csv_file f;
    if (!csv_open(diag, spec_loc, path, &f))
        return false;
    int header_line = 0, header_len = 0;
    struct data_csv_header hdr = {0};
    bool ok = csv_header(diag, spec_loc, &f, &hdr, &header_line, &header_len) &&
              csv_label_index(diag, spec_loc, path, &hdr, opts, header_line, header_len) >= 0;
    if (ok) {
        size_t rows = csv_count_rows(&f);
        if (rows == 0) {
            data_error(diag, spec_loc, path, NULL, "\"%s\" has a header but no rows", path);
            ok = false;
        }
        out->shape = (struct spec_shape){.rank = 1, .dims = {(int)(hdr.column_count - 1)}};
        out->count = rows;
        out->class_count = opts->regression ? 0 : opts->class_count;
    }
    data_csv_header_free(&hdr);
    csv_close(&f);
    return ok;
}

/* A finite number filling the whole cell. */
static bool csv_number(const char *text, double *out)
{
    if (!text[0])
        return false;
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (*end != '\0' || !isfinite(v) || errno == ERANGE)
        return false;
    *out = v;
    return true;
}

bool data_csv_load(struct ns_diag *diag, struct ns_loc spec_loc, const char *path,
                   const struct data_csv_opts *opts, struct dataset *out)
{
    struct csv_file f;
    if (!csv_open(diag, spec_loc, path, &f))
        return false;
    int header_line = 0, header_len = 0;
    struct data_csv_header hdr = {0};
    long label = -1;
    if (!csv_header(diag, spec_loc, &f, &hdr, &header_line, &header_len) ||
        (label = csv_label_index(diag, spec_loc, path, &hdr, opts, header_line, header_len)) < 0) {
        data_csv_header_free(&hdr);
        csv_close(&f);
        return false;
    }
    size_t columns = hdr.column_count;
    size_t features = columns - 1;
    if (features > INT32_MAX) {
        data_error(diag, spec_loc, path, NULL, "\"%s\" has too many columns (%zu)", path, columns);
        data_csv_header_free(&hdr);
        csv_close(&f);
        return false;
    }
    size_t rows = csv_count_rows(&f);
    if (rows == 0) {
        data_error(diag, spec_loc, path, NULL, "\"%s\" has a header but no rows", path);
        data_csv_header_free(&hdr);
        csv_close(&f);
        return false;
    }

    float *x = ns_xmalloc(rows * features * sizeof *x); /* (rows, features) */
    int32_t *labels = opts->regression ? NULL : ns_xmalloc(rows * sizeof *labels);
    float *targets = opts->regression ? ns_xmalloc(rows * sizeof *targets) : NULL;
    struct csv_errors e = {diag, path, 0};
    struct csv_row row = {0};
    const char *line;
    size_t len, r = 0;
    int max_label = -1;
    while (csv_next_row_line(&f, &line, &len) && e.count < CSV_MAX_ERRORS) {
        if (!csv_split(line, len, f.line, &row, &e)) {
            r++;
            continue;
        }
        if (row.count != columns) {
            int col = row.count > columns ? row.col[columns] : (int)len + 1;
            csv_error(&e, f.line, col, 1, "line has %zu cell%s; the header has %zu columns", row.count,
                      row.count == 1 ? "" : "s", columns);
            r++;
            continue;
        }
        float *xr = x + r * features;
        size_t k = 0;
        for (size_t c = 0; c < columns; c++) {
            const char *text = csv_cell(&row, c);
            double v;
            bool num = csv_number(text, &v);
            if ((long)c != label) {
                if (num)
                    xr[k] = (float)v;
                else if (!text[0])
                    csv_error(&e, f.line, row.col[c], row.span[c], "empty cell in column \"%s\"", hdr.columns[c]);
                else
                    csv_error(&e, f.line, row.col[c], row.span[c], "cell \"%s\" in column \"%s\" is not a number",
                              text, hdr.columns[c]);
                k++;
                continue;
            }
            if (opts->regression) {
                if (num)
                    targets[r] = (float)v;
                else
                    csv_error(&e, f.line, row.col[c], row.span[c], "target \"%s\" in column \"%s\" is not a number",
                              text, hdr.columns[c]);
            } else if (!num || v != floor(v) || v < 0 || v > INT32_MAX - 1) {
                csv_error(&e, f.line, row.col[c], row.span[c],
                          "label \"%s\" in column \"%s\" is not a class index (an integer 0 or more)", text,
                          hdr.columns[c]);
            } else if (opts->class_count > 0 && v >= opts->class_count) {
                csv_error(&e, f.line, row.col[c], row.span[c], "label %d in column \"%s\" is outside classes 0..%d",
                          (int)v, hdr.columns[c], opts->class_count - 1);
            } else {
                labels[r] = (int32_t)v;
                if ((int)v > max_label)
                    max_label = (int)v;
            }
        }
        r++;
    }
    csv_row_free(&row);
    csv_close(&f);
    if (e.count) {
        free(x);
        free(labels);
        free(targets);
        data_csv_header_free(&hdr);
        return false;
    }
    memset(out, 0, sizeof *out);
    out->count = rows;
    out->shape = (struct spec_shape){.rank = 1, .dims = {(int)features}};
    out->sample_size = features;
    out->x = x;
    out->labels = labels;
    out->targets = targets;
    out->class_count = opts->regression ? 0 : opts->class_count > 0 ? opts->class_count : max_label + 1;
    data_csv_header_free(&hdr);
    return true;
}
