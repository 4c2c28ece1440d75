#include "data/data_csv.h"

#include <errno.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "core/ns_file.h"
#include "data/data_error.h"
#include "spec/spec_resolve.h"

/* A bad file usually repeats its mistake on every line; ten located errors show the pattern.
 * Detection looks at this many rows after the header. Hints list at most this many names. */
enum { CSV_MAX_ERRORS = 10, CSV_DETECT_ROWS = 20, CSV_HINT_NAMES = 20 };
/* Integer labels spread over more classes than this, with fewer than CSV_ROWS_PER_CLASS rows
 * per class on average, are a numeric target rather than classes. */
enum { CSV_MANY_CLASSES = 32, CSV_ROWS_PER_CLASS = 4 };

static const char *const stdin_name = "<stdin>";

/* ---- reading the text ---- */

struct csv_file {
    const char *path; /* as errors name it */
    char *data;
    size_t len;
    size_t pos;
    int line; /* of the line last returned */
};

/* The whole file through zlib, which reads plain files as they are. */
static bool csv_open(struct ns_diag *diag, struct ns_loc spec_loc, const char *path, struct csv_file *f)
{
    memset(f, 0, sizeof *f);
    bool from_stdin = !strcmp(path, "-");
    f->path = from_stdin ? stdin_name : path;
    errno = 0;
    gzFile g = from_stdin ? gzdopen(dup(STDIN_FILENO), "rb") : gzopen(path, "rb");
    if (!g) {
        data_error(diag, spec_loc, f->path, NULL, "cannot open \"%s\": %s", f->path,
                   strerror(errno ? errno : ENOMEM));
        return false;
    }
    size_t cap = 1 << 16, len = 0;
    char *buf = ns_xmalloc(cap);
    for (;;) {
        if (cap - len < 2) { /* full (one byte stays for the NUL); a small file never reallocates */
            cap *= 2;
            buf = ns_xrealloc(buf, cap);
        }
        /* gzread takes an unsigned count and returns an int: read in pieces. */
        size_t want = cap - len - 1 < (1u << 30) ? cap - len - 1 : (1u << 30);
        int got = gzread(g, buf + len, (unsigned)want);
        if (got < 0 || (got == 0 && !gzeof(g))) {
            int zerr = 0;
            const char *msg = gzerror(g, &zerr);
            data_error(diag, spec_loc, f->path, NULL, "cannot read \"%s\": %s", f->path,
                       zerr == Z_ERRNO ? strerror(errno) : msg);
            gzclose(g);
            free(buf);
            return false;
        }
        if (got == 0)
            break;
        len += (size_t)got;
    }
    int zerr = 0;
    const char *msg = gzerror(g, &zerr);
    if (zerr != Z_OK) {
        char *hint = ns_asprintf("zlib says: %s", msg);
        data_error(diag, spec_loc, f->path, hint, "\"%s\" is a damaged or truncated gzip file", f->path);
        free(hint);
        gzclose(g);
        free(buf);
        return false;
    }
    gzclose(g);
    buf[len] = '\0';
    f->data = buf;
    f->len = len;
    if (len >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0)
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

/* ---- errors ---- */

struct csv_errors {
    struct ns_diag *diag;
    const char *path;
    int count;
};

/* True when the error was listed (the first CSV_MAX_ERRORS are), so a hint may follow. */
static bool csv_error(struct csv_errors *e, int line, int col, int span, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static bool csv_error(struct csv_errors *e, int line, int col, int span, const char *fmt, ...)
{
    e->count++;
    if (e->count > CSV_MAX_ERRORS)
        return false;
    va_list ap;
    va_start(ap, fmt);
    ns_diag_vadd(e->diag, NS_ERR_DATA, (struct ns_loc){e->path, line, col, span}, NULL, fmt, ap);
    va_end(ap);
    if (e->count == CSV_MAX_ERRORS)
        ns_diag_hint(e->diag, "further errors in \"%s\" are not listed", e->path);
    return true;
}

/* "a, b, c" of up to CSV_HINT_NAMES names. */
static void put_names(struct ns_buf *b, char *const *names, size_t count)
{
    ns_buf_puts(b, "");
    for (size_t i = 0; i < count && i < CSV_HINT_NAMES; i++)
        ns_buf_printf(b, "%s%s", i ? ", " : "", names[i]);
    if (count > CSV_HINT_NAMES)
        ns_buf_printf(b, ", ... (%zu in all)", count);
}

/* ---- cells ---- */

struct csv_row {
    size_t count, cap;
    int *col;          /* 1-based column where each cell starts */
    int *span;         /* characters the cell covers in the line */
    size_t *text;      /* offset of each unquoted, NUL-terminated cell in `buf` */
    char *buf;
    size_t buf_cap;
};

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

/* Space around a cell is not part of it; with tabs as the delimiter only spaces are. */
static bool csv_pad(char c, char delim)
{
    return c == ' ' || (c == '\t' && delim != '\t');
}

/* Splits one line into cells at `delim`. An unterminated quote or text after a closing quote
 * is a located error. */
static bool csv_split(const char *line, size_t len, char delim, int lineno, struct csv_row *row,
                      struct csv_errors *e)
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
        while (i < len && csv_pad(line[i], delim))
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
            while (i < len && csv_pad(line[i], delim))
                i++;
            if (i < len && line[i] != delim) {
                csv_error(e, lineno, (int)i + 1, 1, "unexpected '%c' after a quoted cell", line[i]);
                return false;
            }
        } else {
            while (i < len && line[i] != delim)
                row->buf[out++] = line[i++];
            while (out > text && csv_pad(row->buf[out - 1], delim))
                out--;
        }
        row->buf[out++] = '\0';
        size_t end = i;
        int col = (int)(first < end ? first : cell_start) + 1;
        int span = end > first ? (int)(end - first) : 1;
        csv_row_push(row, col, span, text);
        if (i >= len)
            break;
        i++; /* the delimiter */
    }
    return true;
}

/* Cells of a line at `delim`, quotes respected (for detection only). */
static size_t csv_count_fields(const char *line, size_t len, char delim)
{
    size_t n = 1;
    bool quoted = false;
    for (size_t i = 0; i < len; i++) {
        if (line[i] == '"')
            quoted = !quoted;
        else if (!quoted && line[i] == delim)
            n++;
    }
    return n;
}

/* The delimiter that splits the header into the most columns and every one of the first
 * rows into as many; else the one giving the header the most; a comma when none splits it. */
static char csv_detect(struct csv_file *f, const char *header, size_t header_len)
{
    static const char candidates[3] = {',', ';', '\t'};
    size_t fields[3];
    bool consistent[3];
    for (int k = 0; k < 3; k++) {
        fields[k] = csv_count_fields(header, header_len, candidates[k]);
        consistent[k] = fields[k] > 1;
    }
    size_t save_pos = f->pos;
    int save_line = f->line;
    const char *line;
    size_t len;
    for (int r = 0; r < CSV_DETECT_ROWS && csv_next_row_line(f, &line, &len); r++)
        for (int k = 0; k < 3; k++)
            consistent[k] = consistent[k] && csv_count_fields(line, len, candidates[k]) == fields[k];
    f->pos = save_pos;
    f->line = save_line;
    int best = -1;
    for (int k = 0; k < 3; k++)
        if (consistent[k] && (best < 0 || fields[k] > fields[best]))
            best = k;
    if (best < 0)
        for (int k = 0; k < 3; k++)
            if (fields[k] > 1 && (best < 0 || fields[k] > fields[best]))
                best = k;
    return best < 0 ? ',' : candidates[best];
}

static char csv_delimiter_char(int delimiter)
{
    switch (delimiter) {
    case DELIMITER_SEMICOLON:
        return ';';
    case DELIMITER_TAB:
        return '\t';
    default:
        return ',';
    }
}

/* What spreadsheets, R and pandas write for a missing value. */
static bool csv_missing(const char *text)
{
    static const char *const words[] = {"NA", "N/A", "NaN", "nan", "null", "NULL", "?"};
    if (!text[0])
        return true;
    for (size_t i = 0; i < sizeof words / sizeof *words; i++)
        if (!strcmp(text, words[i]))
            return true;
    return false;
}

/* A finite number filling the whole cell; with decimal_comma, "1,5" is 1.5. */
static bool csv_number(const char *text, bool decimal_comma, double *out)
{
    if (!text[0])
        return false;
    char local[64];
    const char *comma = decimal_comma ? strchr(text, ',') : NULL;
    if (comma && !strchr(comma + 1, ',') && !strchr(text, '.') && strlen(text) < sizeof local) {
        strcpy(local, text);
        local[comma - text] = '.';
        text = local;
    }
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (*end != '\0' || !isfinite(v) || errno == ERANGE)
        return false;
    *out = v;
    return true;
}

/* ---- a set of strings, numbered in the order they were added ---- */

struct strset {
    char **items;
    size_t count, cap;
    size_t *slots; /* item index + 1; 0 = empty */
    size_t slot_cap;
};

static uint64_t str_hash(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        h = (h ^ *p) * 0x100000001b3ull;
    return h;
}

static long strset_find(const struct strset *set, const char *s)
{
    if (!set->slot_cap)
        return -1;
    for (size_t i = (size_t)(str_hash(s) & (set->slot_cap - 1));; i = (i + 1) & (set->slot_cap - 1)) {
        size_t v = set->slots[i];
        if (!v)
            return -1;
        if (!strcmp(set->items[v - 1], s))
            return (long)(v - 1);
    }
}

static void strset_place(struct strset *set, size_t index)
{
    size_t i = (size_t)(str_hash(set->items[index]) & (set->slot_cap - 1));
    while (set->slots[i])
        i = (i + 1) & (set->slot_cap - 1);
    set->slots[i] = index + 1;
}

static size_t strset_add(struct strset *set, const char *s)
{
    long found = strset_find(set, s);
    if (found >= 0)
        return (size_t)found;
    if (2 * (set->count + 1) > set->slot_cap) {
        free(set->slots);
        set->slot_cap = set->slot_cap ? set->slot_cap * 2 : 16;
        set->slots = ns_xcalloc(set->slot_cap, sizeof *set->slots);
        for (size_t k = 0; k < set->count; k++)
            strset_place(set, k);
    }
    if (set->count == set->cap) {
        set->cap = set->cap ? set->cap * 2 : 16;
        set->items = ns_xrealloc(set->items, set->cap * sizeof *set->items);
    }
    set->items[set->count] = ns_xstrdup(s);
    strset_place(set, set->count);
    return set->count++;
}

static void strset_free(struct strset *set)
{
    for (size_t i = 0; i < set->count; i++)
        free(set->items[i]);
    free(set->items);
    free(set->slots);
    memset(set, 0, sizeof *set);
}

static int cmp_text(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int cmp_number_text(const void *a, const void *b)
{
    const char *x = *(char *const *)a, *y = *(char *const *)b;
    double u = strtod(x, NULL), v = strtod(y, NULL);
    return u < v ? -1 : u > v ? 1 : strcmp(x, y);
}

/* The values sorted: by number when every one is a number, else byte by byte. Takes the
 * strings out of the set. */
static char **sorted_values(struct strset *set, size_t *count)
{
    bool numbers = set->count > 0;
    double v;
    for (size_t i = 0; i < set->count && numbers; i++)
        numbers = csv_number(set->items[i], false, &v);
    char **out = ns_xcalloc(set->count ? set->count : 1, sizeof *out);
    if (set->count)
        memcpy(out, set->items, set->count * sizeof *out);
    *count = set->count;
    qsort(out, set->count, sizeof *out, numbers ? cmp_number_text : cmp_text);
    set->count = 0; /* the strings now belong to out */
    strset_free(set);
    return out;
}

/* ---- the layout ---- */

void data_csv_layout_free(struct data_csv_layout *layout)
{
    if (!layout)
        return;
    free(layout->label);
    for (int c = 0; layout->class_names && c < layout->class_count; c++)
        free(layout->class_names[c]);
    free(layout->class_names);
    for (size_t j = 0; j < layout->column_count; j++) {
        struct data_csv_column *col = &layout->columns[j];
        free(col->name);
        for (size_t k = 0; k < col->category_count; k++)
            free(col->categories[k]);
        free(col->categories);
    }
    free(layout->columns);
    free(layout->fill);
    free(layout);
}

struct data_csv_layout *data_csv_layout_copy(const struct data_csv_layout *src)
{
    struct data_csv_layout *l = ns_xcalloc(1, sizeof *l);
    *l = *src;
    l->label = ns_xstrdup(src->label);
    if (src->class_names) {
        l->class_names = ns_xcalloc((size_t)src->class_count, sizeof *l->class_names);
        for (int c = 0; c < src->class_count; c++)
            l->class_names[c] = ns_xstrdup(src->class_names[c]);
    }
    l->columns = ns_xcalloc(src->column_count ? src->column_count : 1, sizeof *l->columns);
    for (size_t j = 0; j < src->column_count; j++) {
        const struct data_csv_column *from = &src->columns[j];
        struct data_csv_column *to = &l->columns[j];
        *to = *from;
        to->name = ns_xstrdup(from->name);
        to->categories = from->category_count ? ns_xcalloc(from->category_count, sizeof *to->categories) : NULL;
        for (size_t k = 0; k < from->category_count; k++)
            to->categories[k] = ns_xstrdup(from->categories[k]);
    }
    if (src->fill) {
        l->fill = ns_xmalloc(src->input_size * sizeof *l->fill);
        memcpy(l->fill, src->fill, src->input_size * sizeof *l->fill);
    }
    return l;
}

static void layout_offsets(struct data_csv_layout *l)
{
    size_t at = 0;
    for (size_t j = 0; j < l->column_count; j++) {
        l->columns[j].offset = at;
        at += l->columns[j].category_count ? l->columns[j].category_count : 1;
    }
    l->input_size = at;
}

char *data_csv_input_name(const struct data_csv_layout *layout, size_t input)
{
    for (size_t j = 0; j < layout->column_count; j++) {
        const struct data_csv_column *col = &layout->columns[j];
        size_t width = col->category_count ? col->category_count : 1;
        if (input >= col->offset && input < col->offset + width)
            return col->category_count ? ns_asprintf("%s=%s", col->name, col->categories[input - col->offset])
                                       : ns_xstrdup(col->name);
    }
    return ns_xstrdup("?");
}

/* ---- opening a file: header, delimiter ---- */

struct csv_reader {
    struct csv_file f;
    char delim;
    bool decimal_comma;
    struct csv_errors e;
    struct data_csv_header hdr;
    struct csv_row header_cells; /* where each column name was written */
    int header_line, header_len;
    const char *header_text;
    size_t body_pos; /* the first line after the header */
    int body_line;
    bool missing_hinted;
};

static void reader_close(struct csv_reader *rd)
{
    data_csv_header_free(&rd->hdr);
    csv_row_free(&rd->header_cells);
    csv_close(&rd->f);
}

/* Opens the file and reads its header; the reader then stands at the first data line. */
static bool reader_open(struct ns_diag *diag, struct ns_loc spec_loc, const char *path, int delimiter,
                        struct csv_reader *rd)
{
    memset(rd, 0, sizeof *rd);
    if (!csv_open(diag, spec_loc, path, &rd->f))
        return false;
    rd->e = (struct csv_errors){diag, rd->f.path, 0};
    const char *line;
    size_t len;
    if (!csv_next_row_line(&rd->f, &line, &len)) {
        data_error(diag, spec_loc, rd->f.path, NULL, "\"%s\" is empty: expected a header row of column names",
                   rd->f.path);
        csv_close(&rd->f);
        return false;
    }
    rd->header_line = rd->f.line;
    rd->header_len = (int)len;
    rd->header_text = line;
    rd->delim = delimiter == DELIMITER_AUTO ? csv_detect(&rd->f, line, len) : csv_delimiter_char(delimiter);
    rd->decimal_comma = rd->delim != ',';
    struct csv_row *row = &rd->header_cells;
    if (!csv_split(line, len, rd->delim, rd->f.line, row, &rd->e)) {
        reader_close(rd);
        return false;
    }
    for (size_t i = 0; i < row->count; i++) {
        if (csv_cell(row, i)[0] == '\0')
            csv_error(&rd->e, rd->f.line, row->col[i], row->span[i],
                      "column %zu has no name (the first line must name every column)", i + 1);
        for (size_t j = 0; j < i; j++)
            if (strcmp(csv_cell(row, i), csv_cell(row, j)) == 0 && csv_cell(row, i)[0])
                csv_error(&rd->e, rd->f.line, row->col[i], row->span[i],
                          "column \"%s\" appears twice (columns %zu and %zu)", csv_cell(row, i), j + 1, i + 1);
    }
    if (rd->e.count) {
        reader_close(rd);
        return false;
    }
    rd->hdr.column_count = row->count;
    rd->hdr.columns = ns_xcalloc(row->count, sizeof *rd->hdr.columns);
    for (size_t i = 0; i < row->count; i++)
        rd->hdr.columns[i] = ns_xstrdup(csv_cell(row, i));
    rd->hdr.row_count = csv_count_rows(&rd->f);
    rd->body_pos = rd->f.pos;
    rd->body_line = rd->f.line;
    return true;
}

static void reader_rewind(struct csv_reader *rd)
{
    rd->f.pos = rd->body_pos;
    rd->f.line = rd->body_line;
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

bool data_csv_read_header(struct ns_diag *diag, struct ns_loc spec_loc, const char *path,
                          struct data_csv_header *out)
{
    struct csv_reader rd;
    if (!reader_open(diag, spec_loc, path, DELIMITER_AUTO, &rd))
        return false;
    *out = rd.hdr;
    memset(&rd.hdr, 0, sizeof rd.hdr);
    reader_close(&rd);
    return true;
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
    put_names(&hint, hdr->columns, hdr->column_count);
    struct ns_loc loc = name_loc.file ? name_loc : (struct ns_loc){path, 1, 1, 1};
    ns_diag_add(diag, NS_ERR_DATA, loc, hint.data, "no column \"%s\" in \"%s\"", name, path);
    ns_buf_free(&hint);
    return -1;
}

/* Column names, categories and class names are recorded in model.yaml, which must read back:
 * they must be UTF-8 text without control characters (a header with stray bytes trained, then
 * eval, predict and emit failed on model.yaml; found by tests/fuzz/fuzz_csv). */
static const char csv_unclean_hint[] = "model.yaml records the run's column names, categories and classes as UTF-8 text";

/* The label column must exist and leave at least one feature; every column name must be clean. */
static long csv_label_index(struct ns_diag *diag, struct ns_loc spec_loc, const struct csv_reader *rd,
                            const struct data_csv_opts *opts)
{
    struct ns_loc name_loc = opts->label_loc.file ? opts->label_loc
                                                  : (struct ns_loc){rd->f.path, rd->header_line, 1, rd->header_len};
    long label = data_csv_find_column(diag, &rd->hdr, rd->f.path, opts->label_column, name_loc);
    if (label < 0)
        return -1;
    if (rd->hdr.column_count < 2) {
        data_error(diag, spec_loc, rd->f.path, NULL, "\"%s\" has no feature columns besides \"%s\"", rd->f.path,
                   opts->label_column);
        return -1;
    }
    bool clean = true;
    for (size_t c = 0; c < rd->hdr.column_count; c++) {
        if (ns_text_is_clean_utf8(rd->hdr.columns[c]))
            continue;
        char *shown = ns_path_printable(rd->hdr.columns[c]);
        ns_diag_add(diag, NS_ERR_DATA,
                    (struct ns_loc){rd->f.path, rd->header_line, rd->header_cells.col[c], rd->header_cells.span[c]},
                    csv_unclean_hint, "column name \"%s\" is not UTF-8 text without control characters", shown);
        free(shown);
        clean = false;
    }
    if (!clean)
        return -1;
    return label;
}

bool data_csv_check(struct ns_diag *diag, struct ns_loc spec_loc, const char *path,
                    const struct data_csv_opts *opts, struct data_header *out)
{
    struct csv_reader rd;
    if (!reader_open(diag, spec_loc, path, opts->delimiter, &rd))
        return false;
    bool ok = csv_label_index(diag, spec_loc, &rd, opts) >= 0;
    if (ok && rd.hdr.row_count == 0) {
        data_error(diag, spec_loc, rd.f.path, NULL, "\"%s\" has a header but no rows", rd.f.path);
        ok = false;
    }
    if (ok) {
        out->shape = (struct spec_shape){.rank = 1, .dims = {(int)(rd.hdr.column_count - 1)}};
        out->count = rd.hdr.row_count;
        out->class_count = opts->regression ? 0 : opts->class_count;
    }
    reader_close(&rd);
    return ok;
}

void data_csv_opts_from_spec(const struct spec *spec, struct data_csv_opts *out)
{
    const struct spec_data *d = &spec->data;
    bool regression = d->task == TASK_REGRESSION || (d->task == TASK_AUTO && spec->loss.type == LOSS_MSE);
    *out = (struct data_csv_opts){
        .label_column = d->label_column,
        .label_loc = spec_field_loc(spec, d->node, "label_column"),
        .regression = regression,
        .class_count = regression ? 0 : (int)d->classes.count,
        .class_names = regression ? NULL : d->classes.names,
        .loss_name = spec_loss_name(spec->loss.type),
        .delimiter = d->delimiter,
        .categorical_count = d->categorical.count,
        .categorical = d->categorical.names,
        .categorical_nodes = d->categorical.nodes,
        .missing = d->missing,
    };
}

/* ---- how a file's columns become inputs ---- */

struct csv_plan {
    const struct data_csv_layout *layout; /* what rows are encoded with */
    long label;                  /* the header index of the label; -1 = not read */
    long *source;                /* (layout->column_count) the header index of each feature column */
    struct strset *categories;   /* (layout->column_count) value -> one-hot index, categorical columns */
    struct strset classes;       /* class name -> index, when layout->label_names */
    bool *hinted;                /* (layout->column_count) a "list it under categorical" hint was given */
    bool training;               /* the file that made the layout (hints about the spec apply) */
};

static void plan_free(struct csv_plan *p)
{
    for (size_t j = 0; p->categories && p->layout && j < p->layout->column_count; j++)
        strset_free(&p->categories[j]);
    free(p->categories);
    free(p->source);
    free(p->hinted);
    strset_free(&p->classes);
    memset(p, 0, sizeof *p);
}

/* Lookups for the layout's categories and classes. */
static void plan_index(struct csv_plan *p)
{
    const struct data_csv_layout *l = p->layout;
    p->categories = ns_xcalloc(l->column_count ? l->column_count : 1, sizeof *p->categories);
    p->hinted = ns_xcalloc(l->column_count ? l->column_count : 1, sizeof *p->hinted);
    for (size_t j = 0; j < l->column_count; j++)
        for (size_t k = 0; k < l->columns[j].category_count; k++)
            strset_add(&p->categories[j], l->columns[j].categories[k]);
    for (int c = 0; l->label_names && c < l->class_count; c++)
        strset_add(&p->classes, l->class_names[c]);
}

/* A test file or a file to predict: each layout column by name. Missing columns are errors;
 * other columns are errors too when `extra_ok` is false (a test file must hold what training
 * read, no more). */
static bool plan_match(struct csv_reader *rd, const struct data_csv_layout *layout, bool need_label,
                       bool extra_ok, struct csv_plan *p)
{
    memset(p, 0, sizeof *p);
    p->layout = layout;
    p->source = ns_xcalloc(layout->column_count ? layout->column_count : 1, sizeof *p->source);
    p->label = -1;
    struct ns_loc header = {rd->f.path, rd->header_line, 1, rd->header_len};
    bool ok = true;
    for (size_t i = 0; i < rd->hdr.column_count; i++)
        if (!strcmp(rd->hdr.columns[i], layout->label))
            p->label = (long)i;
    if (need_label && p->label < 0) {
        data_csv_find_column(rd->e.diag, &rd->hdr, rd->f.path, layout->label, header);
        ok = false;
    }
    for (size_t j = 0; j < layout->column_count; j++) {
        p->source[j] = -1;
        for (size_t i = 0; i < rd->hdr.column_count; i++)
            if (!strcmp(rd->hdr.columns[i], layout->columns[j].name))
                p->source[j] = (long)i;
        if (p->source[j] < 0) {
            data_csv_find_column(rd->e.diag, &rd->hdr, rd->f.path, layout->columns[j].name, header);
            ns_diag_hint(rd->e.diag, "the model reads every feature column of its training file, by name");
            ok = false;
        }
    }
    for (size_t i = 0; !extra_ok && i < rd->hdr.column_count; i++) {
        bool known = (long)i == p->label;
        for (size_t j = 0; j < layout->column_count && !known; j++)
            known = p->source[j] == (long)i;
        if (!known) {
            ns_diag_add(rd->e.diag, NS_ERR_DATA,
                        (struct ns_loc){rd->f.path, rd->header_line, rd->header_cells.col[i], rd->header_cells.span[i]},
                        "the training file has the columns it needs; remove this one",
                        "column \"%s\" is not in the training file", rd->hdr.columns[i]);
            ok = false;
        }
    }
    if (ok)
        plan_index(p);
    return ok;
}

/* What the labels of a training file turned out to be. */
struct label_facts {
    size_t count;        /* non-missing labels */
    bool all_numbers, all_integers, any_negative;
    long long min, max;
    int bad_line, bad_col, bad_span; /* the first label that is not a whole number */
    char *bad_text;
    int neg_line, neg_col, neg_span; /* the first negative one */
    char *neg_text;
    struct strset names;
};

static void label_facts_free(struct label_facts *lf)
{
    free(lf->bad_text);
    free(lf->neg_text);
    strset_free(&lf->names);
}

static void label_facts_add(struct label_facts *lf, const char *text, bool decimal_comma, int line, int col,
                            int span)
{
    double v;
    bool number = csv_number(text, decimal_comma, &v);
    bool integer = number && v == floor(v) && fabs(v) < 2147483647.0;
    if (lf->count == 0) {
        lf->all_numbers = lf->all_integers = true;
        lf->min = LLONG_MAX;
        lf->max = LLONG_MIN;
    }
    lf->count++;
    lf->all_numbers = lf->all_numbers && number;
    if (number && !integer && !lf->bad_text) {
        lf->bad_text = ns_xstrdup(text);
        lf->bad_line = line, lf->bad_col = col, lf->bad_span = span;
    }
    lf->all_integers = lf->all_integers && integer;
    if (integer) {
        long long n = (long long)v;
        lf->min = n < lf->min ? n : lf->min;
        lf->max = n > lf->max ? n : lf->max;
        if (n < 0 && !lf->neg_text) {
            lf->any_negative = true;
            lf->neg_text = ns_xstrdup(text);
            lf->neg_line = line, lf->neg_col = col, lf->neg_span = span;
        }
    }
    strset_add(&lf->names, text);
}

/* `classes: ["-1", "1"]` for a hint, when the labels are few. */
static char *classes_example(struct label_facts *lf)
{
    if (lf->names.count > 10)
        return ns_xstrdup("data.classes");
    char **sorted = ns_xcalloc(lf->names.count, sizeof *sorted);
    memcpy(sorted, lf->names.items, lf->names.count * sizeof *sorted);
    qsort(sorted, lf->names.count, sizeof *sorted, cmp_number_text);
    struct ns_buf b = {0};
    ns_buf_puts(&b, "`classes: [");
    for (size_t i = 0; i < lf->names.count; i++)
        ns_buf_printf(&b, "%s\"%s\"", i ? ", " : "", sorted[i]);
    ns_buf_puts(&b, "]`");
    free(sorted);
    return b.data;
}

/* Class indices, listed names or names from the data: decides from every label of the
 * training file, and refuses labels that are not classes with a located error. */
static bool decide_labels(struct csv_reader *rd, const struct data_csv_opts *o, long label_col,
                          struct label_facts *lf, struct data_csv_layout *l)
{
    struct ns_diag *diag = rd->e.diag;
    const char *path = rd->f.path, *column = rd->hdr.columns[label_col];
    const char *loss = o->loss_name ? o->loss_name : "classification";
    struct ns_loc header_cell = {path, rd->header_line, rd->header_cells.col[label_col],
                                 rd->header_cells.span[label_col]};
    if (o->class_count > 0 && o->class_names) {
        size_t matched = 0;
        for (int c = 0; c < o->class_count; c++)
            matched += strset_find(&lf->names, o->class_names[c]) >= 0;
        l->label_names = matched > 0;
        l->class_count = o->class_count;
        if (l->label_names) {
            l->class_names = ns_xcalloc((size_t)o->class_count, sizeof *l->class_names);
            for (int c = 0; c < o->class_count; c++)
                l->class_names[c] = ns_xstrdup(o->class_names[c]);
        }
        return true; /* labels outside the list are reported cell by cell */
    }
    if (o->class_count > 0) {
        l->class_count = o->class_count;
        return true;
    }
    if (lf->count && lf->all_numbers && !lf->all_integers) {
        ns_diag_add(diag, NS_ERR_DATA, (struct ns_loc){path, lf->bad_line, lf->bad_col, lf->bad_span},
                    "the column looks like a numeric target: use `loss: mse` to predict it (regression)",
                    "label \"%s\" in column \"%s\" is not a whole number: %s needs class labels", lf->bad_text,
                    column, loss);
        return false;
    }
    if (lf->count && lf->all_integers && lf->any_negative) {
        char *example = classes_example(lf);
        char *hint = ns_asprintf("to use the labels as class names, list them: %s", example);
        ns_diag_add(diag, NS_ERR_DATA, (struct ns_loc){path, lf->neg_line, lf->neg_col, lf->neg_span}, hint,
                    "label \"%s\" in column \"%s\" is not a class index (an integer 0 or more)", lf->neg_text,
                    column);
        free(hint);
        free(example);
        return false;
    }
    if (lf->count && lf->all_integers) {
        long long k = lf->max + 1;
        if (k > CSV_MANY_CLASSES && (long long)lf->count < CSV_ROWS_PER_CLASS * k) {
            ns_diag_add(diag, NS_ERR_DATA, header_cell,
                        "use `loss: mse` to predict the number (regression); if they are classes, list them under data.classes",
                        "column \"%s\" holds %zu different whole numbers (%lld to %lld) in %zu rows: %s needs class "
                        "labels, and these look like a numeric target",
                        column, lf->names.count, lf->min, lf->max, lf->count, loss);
            return false;
        }
        if (lf->min > 0) {
            char *example = classes_example(lf);
            char *hint = ns_asprintf("subtract %lld from the labels, or name the classes: %s (labels that match "
                                     "listed names are names)", lf->min, example);
            ns_diag_add(diag, NS_ERR_DATA, header_cell, hint,
                        "no row has label 0 in column \"%s\": labels are class indices from 0, and these run from "
                        "%lld to %lld",
                        column, lf->min, lf->max);
            free(hint);
            free(example);
            return false;
        }
        l->class_count = (int)k;
        return true;
    }
    /* Names: sorted, so the same file always gives the same class numbers. */
    size_t count;
    l->class_names = sorted_values(&lf->names, &count);
    l->label_names = true;
    l->class_count = (int)count;
    return true;
}

/* ---- encoding rows ---- */

enum row_status { ROW_OK, ROW_DROPPED, ROW_BAD };

/* Training and test files follow the layout's missing policy (fill_mean leaves NaN for
 * data_csv_fill_missing); a file to predict is filled from the recorded means or refused. */
enum encode_mode { ENCODE_LOAD, ENCODE_PREDICT };

static void missing_hint(struct csv_reader *rd, bool listed, enum encode_mode mode, int policy)
{
    if (!listed || rd->missing_hinted)
        return;
    rd->missing_hinted = true; /* once per file: the way out is the same for every cell */
    if (mode == ENCODE_PREDICT)
        ns_diag_hint(rd->e.diag, "the run was trained with data.missing: %s; only fill_mean fills cells",
                     policy == MISSING_DROP ? "drop" : "error");
    else
        ns_diag_hint(rd->e.diag, "to accept missing cells set data.missing to drop (leave the row out) or fill_mean");
}

static enum row_status encode_row(struct csv_reader *rd, struct csv_plan *p, enum encode_mode mode,
                                  const struct csv_row *row, float *x, int32_t *label, float *target)
{
    const struct data_csv_layout *l = p->layout;
    int line = rd->f.line;
    bool bad = false;
    for (size_t j = 0; j < l->column_count; j++) {
        const struct data_csv_column *col = &l->columns[j];
        size_t c = (size_t)p->source[j];
        const char *text = csv_cell(row, c);
        size_t width = col->category_count ? col->category_count : 1;
        float *out = x + col->offset;
        if (csv_missing(text)) {
            if (mode == ENCODE_PREDICT && l->fill) {
                memcpy(out, l->fill + col->offset, width * sizeof *out);
                continue;
            }
            if (mode == ENCODE_LOAD && l->missing == MISSING_DROP)
                return ROW_DROPPED;
            if (mode == ENCODE_LOAD && l->missing == MISSING_FILL_MEAN) {
                for (size_t k = 0; k < width; k++)
                    out[k] = NAN;
                continue;
            }
            bool listed = text[0] ? csv_error(&rd->e, line, row->col[c], row->span[c],
                                              "missing value \"%s\" in column \"%s\"", text, col->name)
                                  : csv_error(&rd->e, line, row->col[c], row->span[c], "empty cell in column \"%s\"",
                                              col->name);
            missing_hint(rd, listed, mode, l->missing);
            bad = true;
            continue;
        }
        if (col->category_count) {
            long k = strset_find(&p->categories[j], text);
            if (k < 0) {
                if (csv_error(&rd->e, line, row->col[c], row->span[c],
                              "category \"%s\" in column \"%s\" is not in the training file", text, col->name)) {
                    struct ns_buf hint = {0};
                    ns_buf_puts(&hint, "its categories: ");
                    put_names(&hint, col->categories, col->category_count);
                    ns_diag_hint(rd->e.diag, "%s", hint.data);
                    ns_buf_free(&hint);
                }
                bad = true;
                continue;
            }
            for (size_t m = 0; m < width; m++)
                out[m] = (size_t)k == m ? 1.0f : 0.0f;
            continue;
        }
        double v = 0;
        if (csv_number(text, rd->decimal_comma, &v) && fabs(v) <= FLT_MAX) {
            out[0] = (float)v;
            continue;
        }
        if (fabs(v) > FLT_MAX) {
            /* Inputs are floats: 1e39 would train on infinity. */
            csv_error(&rd->e, line, row->col[c], row->span[c],
                      "cell \"%s\" in column \"%s\" is beyond the float range (+-3.4e38)", text, col->name);
            bad = true;
            continue;
        }
        bool listed = csv_error(&rd->e, line, row->col[c], row->span[c], "cell \"%s\" in column \"%s\" is not a number",
                                text, col->name);
        if (listed && p->training && !p->hinted[j]) {
            ns_diag_hint(rd->e.diag, "a column of categories is listed under data.categorical: `categorical: [%s]`",
                         col->name);
            p->hinted[j] = true;
        }
        bad = true;
    }
    if (mode == ENCODE_LOAD && p->label >= 0) {
        size_t c = (size_t)p->label;
        const char *text = csv_cell(row, c);
        const char *name = rd->hdr.columns[c];
        if (csv_missing(text)) {
            if (l->missing == MISSING_DROP)
                return ROW_DROPPED;
            bool listed = csv_error(&rd->e, line, row->col[c], row->span[c], "%s label in column \"%s\"",
                                    text[0] ? "missing" : "empty", name);
            if (listed && l->missing == MISSING_FILL_MEAN)
                ns_diag_hint(rd->e.diag, "data.missing: fill_mean fills features, never labels; drop leaves such rows out");
            else
                missing_hint(rd, listed, mode, l->missing);
            return ROW_BAD;
        }
        double v;
        bool number = csv_number(text, rd->decimal_comma, &v);
        if (l->regression) {
            if (number && fabs(v) <= FLT_MAX)
                *target = (float)v;
            else if (number)
                csv_error(&rd->e, line, row->col[c], row->span[c],
                          "target \"%s\" in column \"%s\" is beyond the float range (+-3.4e38)", text, name);
            else
                csv_error(&rd->e, line, row->col[c], row->span[c], "target \"%s\" in column \"%s\" is not a number",
                          text, name);
            bad = bad || !number || fabs(v) > FLT_MAX;
        } else if (l->label_names) {
            long k = strset_find(&p->classes, text);
            if (k >= 0) {
                *label = (int32_t)k;
            } else {
                if (csv_error(&rd->e, line, row->col[c], row->span[c], "label \"%s\" in column \"%s\" is not one of the classes",
                              text, name)) {
                    struct ns_buf hint = {0};
                    ns_buf_puts(&hint, "classes: ");
                    put_names(&hint, l->class_names, (size_t)l->class_count);
                    ns_diag_hint(rd->e.diag, "%s", hint.data);
                    ns_buf_free(&hint);
                }
                bad = true;
            }
        } else if (!number || v != floor(v) || v < 0 || v > INT32_MAX - 1) {
            csv_error(&rd->e, line, row->col[c], row->span[c],
                      "label \"%s\" in column \"%s\" is not a class index (an integer 0 or more)", text, name);
            bad = true;
        } else if (v >= l->class_count) {
            csv_error(&rd->e, line, row->col[c], row->span[c], "label %d in column \"%s\" is outside classes 0..%d",
                      (int)v, name, l->class_count - 1);
            bad = true;
        } else {
            *label = (int32_t)v;
        }
    }
    return bad ? ROW_BAD : ROW_OK;
}

/* The row's cells, or false with an error when it cannot be split or has the wrong count. */
static bool split_row(struct csv_reader *rd, const char *line, size_t len, struct csv_row *row)
{
    if (!csv_split(line, len, rd->delim, rd->f.line, row, &rd->e))
        return false;
    size_t columns = rd->hdr.column_count;
    if (row->count != columns) {
        int col = row->count > columns ? row->col[columns] : (int)len + 1;
        csv_error(&rd->e, rd->f.line, col, 1, "line has %zu cell%s; the header has %zu columns", row->count,
                  row->count == 1 ? "" : "s", columns);
        return false;
    }
    return true;
}

/* Pass one over a training file: the shape of every row, the labels and the categories. */
static bool survey(struct csv_reader *rd, const struct data_csv_opts *o, long label_col, const bool *categorical,
                   struct label_facts *lf, struct strset *values)
{
    struct csv_row row = {0};
    const char *line;
    size_t len;
    size_t columns = rd->hdr.column_count;
    while (csv_next_row_line(&rd->f, &line, &len) && rd->e.count < CSV_MAX_ERRORS) {
        if (!split_row(rd, line, len, &row))
            continue;
        if (o->missing == MISSING_DROP) {
            bool missing = false;
            for (size_t c = 0; c < columns && !missing; c++)
                missing = csv_missing(csv_cell(&row, c));
            if (missing)
                continue; /* the row will be left out: it must not add a class or a category */
        }
        for (size_t c = 0; c < columns; c++) {
            const char *text = csv_cell(&row, c);
            if (csv_missing(text))
                continue;
            bool recorded = ((long)c == label_col && !o->regression) || categorical[c];
            if (recorded && !ns_text_is_clean_utf8(text)) {
                char *shown = ns_path_printable(text);
                if (csv_error(&rd->e, rd->f.line, row.col[c], row.span[c],
                              "%s \"%s\" in column \"%s\" is not UTF-8 text without control characters",
                              (long)c == label_col ? "label" : "category", shown, rd->hdr.columns[c]))
                    ns_diag_hint(rd->e.diag, "%s", csv_unclean_hint);
                free(shown);
                continue;
            }
            if ((long)c == label_col && !o->regression)
                label_facts_add(lf, text, rd->decimal_comma, rd->f.line, row.col[c], row.span[c]);
            else if (categorical[c])
                strset_add(&values[c], text);
        }
    }
    csv_row_free(&row);
    reader_rewind(rd);
    return rd->e.count == 0;
}

/* The training file's layout from its header, the spec's options and the survey. */
static bool make_layout(struct ns_diag *diag, struct ns_loc spec_loc, struct csv_reader *rd,
                        const struct data_csv_opts *o, struct data_csv_layout **out, long *label_out)
{
    long label = csv_label_index(diag, spec_loc, rd, o);
    if (label < 0)
        return false;
    size_t columns = rd->hdr.column_count;
    bool *categorical = ns_xcalloc(columns, sizeof *categorical);
    bool ok = true;
    for (size_t i = 0; i < o->categorical_count; i++) {
        struct ns_loc at = o->categorical_nodes ? spec_node_loc(o->categorical_nodes[i]) : (struct ns_loc){0};
        if (!at.file)
            at = (struct ns_loc){rd->f.path, rd->header_line, 1, rd->header_len};
        long c = data_csv_find_column(diag, &rd->hdr, rd->f.path, o->categorical[i], at);
        if (c < 0)
            ok = false;
        else if (c == label) {
            ns_diag_add(diag, NS_ERR_SPEC, at, "categorical lists feature columns; the label's classes come from its values",
                        "\"%s\" is the label column", o->categorical[i]);
            ok = false;
        } else {
            categorical[c] = true;
        }
    }
    struct strset *values = ns_xcalloc(columns, sizeof *values);
    struct label_facts lf = {0};
    struct data_csv_layout *l = ns_xcalloc(1, sizeof *l);
    l->label = ns_xstrdup(rd->hdr.columns[label]);
    l->regression = o->regression;
    l->missing = o->missing;
    ok = ok && survey(rd, o, label, categorical, &lf, values);
    ok = ok && (o->regression || decide_labels(rd, o, label, &lf, l));
    if (ok) {
        l->column_count = columns - 1;
        l->columns = ns_xcalloc(l->column_count, sizeof *l->columns);
        size_t j = 0;
        for (size_t c = 0; c < columns; c++) {
            if ((long)c == label)
                continue;
            struct data_csv_column *col = &l->columns[j++];
            col->name = ns_xstrdup(rd->hdr.columns[c]);
            if (categorical[c]) {
                col->categories = sorted_values(&values[c], &col->category_count);
                if (!col->category_count) {
                    ns_diag_add(diag, NS_ERR_DATA,
                                (struct ns_loc){rd->f.path, rd->header_line, rd->header_cells.col[c], rd->header_cells.span[c]},
                                NULL, "categorical column \"%s\" has no values", col->name);
                    ok = false;
                }
            }
        }
        layout_offsets(l);
        if (l->input_size > INT32_MAX) {
            data_error(diag, spec_loc, rd->f.path, NULL, "\"%s\" makes too many model inputs (%zu)", rd->f.path,
                       l->input_size);
            ok = false;
        }
    }
    for (size_t c = 0; c < columns; c++)
        strset_free(&values[c]);
    free(values);
    free(categorical);
    label_facts_free(&lf);
    if (!ok) {
        data_csv_layout_free(l);
        return false;
    }
    *out = l;
    *label_out = label;
    return true;
}

bool data_csv_load(struct ns_diag *diag, struct ns_loc spec_loc, const char *path,
                   const struct data_csv_opts *opts, struct dataset *out)
{
    struct csv_reader rd;
    if (!reader_open(diag, spec_loc, path, opts->delimiter, &rd))
        return false;
    size_t rows = rd.hdr.row_count;
    struct data_csv_layout *made = NULL;
    struct csv_plan plan = {0};
    bool ok;
    if (opts->layout) {
        ok = plan_match(&rd, opts->layout, true, false, &plan);
    } else {
        long label = -1;
        ok = csv_label_index(diag, spec_loc, &rd, opts) >= 0;
        if (ok && rows == 0) {
            data_error(diag, spec_loc, rd.f.path, NULL, "\"%s\" has a header but no rows", rd.f.path);
            ok = false;
        }
        ok = ok && make_layout(diag, spec_loc, &rd, opts, &made, &label);
        if (ok) {
            plan.layout = made;
            plan.label = label;
            plan.training = true;
            plan.source = ns_xcalloc(made->column_count ? made->column_count : 1, sizeof *plan.source);
            for (size_t c = 0, j = 0; c < rd.hdr.column_count; c++)
                if ((long)c != label)
                    plan.source[j++] = (long)c;
            plan_index(&plan);
        }
    }
    if (ok && rows == 0) {
        data_error(diag, spec_loc, rd.f.path, NULL, "\"%s\" has a header but no rows", rd.f.path);
        ok = false;
    }
    if (!ok) {
        plan_free(&plan);
        data_csv_layout_free(made);
        reader_close(&rd);
        return false;
    }
    const struct data_csv_layout *l = plan.layout;
    size_t inputs = l->input_size;
    float *x = ns_xmalloc(rows * inputs * sizeof *x); /* (rows, inputs) */
    int32_t *labels = l->regression ? NULL : ns_xmalloc(rows * sizeof *labels);
    float *targets = l->regression ? ns_xmalloc(rows * sizeof *targets) : NULL;
    struct csv_row row = {0};
    const char *line;
    size_t len, r = 0, dropped = 0;
    while (csv_next_row_line(&rd.f, &line, &len) && rd.e.count < CSV_MAX_ERRORS) {
        if (!split_row(&rd, line, len, &row))
            continue;
        int32_t label = 0;
        float target = 0;
        enum row_status s = encode_row(&rd, &plan, ENCODE_LOAD, &row, x + r * inputs, &label, &target);
        if (s == ROW_DROPPED) {
            dropped++;
            continue;
        }
        if (labels)
            labels[r] = label;
        if (targets)
            targets[r] = target;
        r++;
    }
    csv_row_free(&row);
    ok = rd.e.count == 0;
    if (ok && r == 0) {
        data_error(diag, spec_loc, rd.f.path, "data.missing: drop leaves out every row with a missing cell",
                   "\"%s\" has no rows left: each of its %zu rows has a missing cell", rd.f.path, dropped);
        ok = false;
    }
    int class_count = l->class_count;
    char **class_names = NULL;
    if (ok && l->label_names) {
        class_names = ns_xcalloc((size_t)class_count, sizeof *class_names);
        for (int c = 0; c < class_count; c++)
            class_names[c] = ns_xstrdup(l->class_names[c]);
    }
    plan_free(&plan);
    reader_close(&rd);
    if (!ok) {
        free(x);
        free(labels);
        free(targets);
        data_csv_layout_free(made);
        return false;
    }
    size_t keep = r ? r : 1;
    memset(out, 0, sizeof *out);
    out->count = r;
    out->shape = (struct spec_shape){.rank = 1, .dims = {(int)inputs}};
    out->sample_size = inputs;
    out->x = ns_xrealloc(x, keep * inputs * sizeof *x);
    out->labels = labels ? ns_xrealloc(labels, keep * sizeof *labels) : NULL;
    out->targets = targets ? ns_xrealloc(targets, keep * sizeof *targets) : NULL;
    out->class_count = l->regression ? 0 : class_count;
    out->class_names = class_names;
    out->dropped = dropped;
    out->csv = made;
    return true;
}

bool data_csv_fill_missing(struct ns_diag *diag, struct ns_loc loc, struct data_csv_layout *layout,
                           struct dataset *train, struct dataset *const *others, size_t other_count)
{
    size_t m = layout->input_size;
    double *sum = ns_xcalloc(m ? m : 1, sizeof *sum);
    size_t *seen = ns_xcalloc(m ? m : 1, sizeof *seen);
    for (size_t i = 0; i < train->count; i++)
        for (size_t j = 0; j < m; j++) {
            float v = train->x[i * m + j];
            if (!isnan(v)) {
                sum[j] += v;
                seen[j]++;
            }
        }
    bool ok = true;
    free(layout->fill);
    layout->fill = ns_xmalloc((m ? m : 1) * sizeof *layout->fill);
    for (size_t j = 0; j < layout->column_count; j++) {
        const struct data_csv_column *col = &layout->columns[j];
        if (!seen[col->offset]) {
            ns_diag_add(diag, NS_ERR_DATA, loc, "data.missing: fill_mean needs values to take the mean of",
                        "column \"%s\" has no value in the training split", col->name);
            ok = false;
        }
    }
    for (size_t j = 0; j < m; j++)
        layout->fill[j] = seen[j] ? (float)(sum[j] / (double)seen[j]) : 0.0f;
    free(sum);
    free(seen);
    for (size_t s = 0; ok && s <= other_count; s++) {
        struct dataset *ds = s == 0 ? train : others[s - 1];
        for (size_t i = 0; ds && ds->x && i < ds->count * m; i++)
            if (isnan(ds->x[i]))
                ds->x[i] = layout->fill[i % m];
    }
    return ok;
}

bool data_csv_fill_recorded(const struct data_csv_layout *layout, struct dataset *ds)
{
    size_t m = layout->input_size;
    for (size_t i = 0; layout->fill && ds->x && i < ds->count * m; i++)
        if (isnan(ds->x[i]))
            ds->x[i] = layout->fill[i % m];
    return true;
}

/* ---- the layout in model.yaml ---- */

static void put_float_list(struct ns_buf *out, const float *v, size_t n)
{
    ns_buf_puts(out, "[");
    for (size_t i = 0; i < n; i++)
        ns_buf_printf(out, "%s%.9g", i ? ", " : "", (double)v[i]); /* 9 digits: the float again */
    ns_buf_puts(out, "]");
}

void data_csv_layout_put_yaml(struct ns_buf *out, const struct data_csv_layout *l, int indent)
{
    static const char *const missing_names[] = {"error", "drop", "fill_mean"};
    ns_buf_printf(out, "%*slabel: ", indent, "");
    spec_resolve_put_string(out, l->label);
    ns_buf_printf(out, "\n%*slabels: %s\n", indent, "",
                  l->regression ? "target" : l->label_names ? "names" : "indices");
    ns_buf_printf(out, "%*smissing: %s\n", indent, "",
                  l->missing >= 0 && l->missing < 3 ? missing_names[l->missing] : "error");
    ns_buf_printf(out, "%*scolumns:\n", indent, "");
    for (size_t j = 0; j < l->column_count; j++) {
        const struct data_csv_column *col = &l->columns[j];
        ns_buf_printf(out, "%*s  - {name: ", indent, "");
        spec_resolve_put_string(out, col->name);
        if (col->category_count) {
            ns_buf_puts(out, ", categories: [");
            for (size_t k = 0; k < col->category_count; k++) {
                ns_buf_puts(out, k ? ", " : "");
                spec_resolve_put_string(out, col->categories[k]);
            }
            ns_buf_puts(out, "]");
        }
        ns_buf_puts(out, "}\n");
    }
    if (l->fill) {
        ns_buf_printf(out, "%*sfill: ", indent, "");
        put_float_list(out, l->fill, l->input_size);
        ns_buf_puts(out, "\n");
    }
}

static const char *scalar_text(const struct spec_node *n)
{
    return n && n->kind == SPEC_SCALAR && n->text ? n->text : NULL;
}

bool data_csv_layout_from_yaml(struct ns_diag *diag, const char *path, const struct spec_node *node,
                               struct data_csv_layout **out)
{
    struct data_csv_layout *l = ns_xcalloc(1, sizeof *l);
    const char *label = scalar_text(spec_tree_get(node, "label"));
    const char *labels = scalar_text(spec_tree_get(node, "labels"));
    const char *missing = scalar_text(spec_tree_get(node, "missing"));
    const struct spec_node *columns = spec_tree_get(node, "columns");
    const struct spec_node *fill = spec_tree_get(node, "fill");
    bool ok = label && labels && missing && columns && columns->kind == SPEC_SEQ && columns->count > 0;
    if (ok) {
        l->label = ns_xstrdup(label);
        l->regression = !strcmp(labels, "target");
        l->label_names = !strcmp(labels, "names");
        l->missing = !strcmp(missing, "drop") ? MISSING_DROP : !strcmp(missing, "fill_mean") ? MISSING_FILL_MEAN
                                                                                             : MISSING_ERROR;
        l->column_count = columns->count;
        l->columns = ns_xcalloc(columns->count, sizeof *l->columns);
        for (size_t j = 0; ok && j < columns->count; j++) {
            const struct spec_node *c = columns->items[j];
            const char *name = scalar_text(spec_tree_get(c, "name"));
            const struct spec_node *cats = spec_tree_get(c, "categories");
            ok = name && (!cats || (cats->kind == SPEC_SEQ && cats->count > 0));
            if (!ok)
                break;
            l->columns[j].name = ns_xstrdup(name);
            if (cats) {
                l->columns[j].category_count = cats->count;
                l->columns[j].categories = ns_xcalloc(cats->count, sizeof(char *));
                for (size_t k = 0; ok && k < cats->count; k++) {
                    const char *t = scalar_text(cats->items[k]);
                    ok = t != NULL;
                    l->columns[j].categories[k] = ns_xstrdup(t ? t : "");
                }
            }
        }
    }
    if (ok) {
        layout_offsets(l);
        if (fill) {
            ok = fill->kind == SPEC_SEQ && fill->count == l->input_size;
            l->fill = ok ? ns_xmalloc(l->input_size * sizeof *l->fill) : NULL;
            for (size_t i = 0; ok && i < fill->count; i++) {
                const char *t = scalar_text(fill->items[i]);
                char *end = NULL;
                l->fill[i] = t ? strtof(t, &end) : 0.0f;
                ok = t && *end == '\0';
            }
        }
    }
    if (!ok) {
        ns_diag_add(diag, NS_ERR_DATA, (struct ns_loc){path, node ? node->line : 0, node ? node->col : 0, 1}, NULL,
                    "damaged run file: `csv:` must hold label, labels, missing and columns");
        data_csv_layout_free(l);
        return false;
    }
    *out = l;
    return true;
}

/* ---- rows to predict ---- */

void data_csv_input_free(struct data_csv_input *in)
{
    if (!in)
        return;
    free(in->x);
    free(in->ok);
    free(in->line);
    for (size_t i = 0; in->text && i < in->count; i++)
        free(in->text[i]);
    free(in->text);
    free(in->header);
    data_csv_header_free(&in->hdr);
    memset(in, 0, sizeof *in);
}

bool data_csv_read_input(struct ns_diag *diag, const char *path, const struct data_csv_layout *layout,
                         int delimiter, struct data_csv_input *out)
{
    memset(out, 0, sizeof *out);
    struct csv_reader rd;
    if (!reader_open(diag, (struct ns_loc){0}, path, delimiter, &rd))
        return false;
    struct csv_plan plan;
    if (!plan_match(&rd, layout, false, true, &plan)) {
        plan_free(&plan);
        reader_close(&rd);
        return false;
    }
    size_t rows = rd.hdr.row_count, inputs = layout->input_size;
    out->x = ns_xcalloc((rows ? rows : 1) * inputs, sizeof *out->x);
    out->ok = ns_xcalloc(rows ? rows : 1, sizeof *out->ok);
    out->line = ns_xcalloc(rows ? rows : 1, sizeof *out->line);
    out->text = ns_xcalloc(rows ? rows : 1, sizeof *out->text);
    out->header = ns_xstrndup(rd.header_text, (size_t)rd.header_len);
    out->header_line = rd.header_line;
    out->delimiter = rd.delim;
    struct csv_row row = {0};
    const char *line;
    size_t len, r = 0;
    while (r < rows && csv_next_row_line(&rd.f, &line, &len)) {
        out->line[r] = rd.f.line;
        out->text[r] = ns_xstrndup(line, len);
        float *x = out->x + r * inputs;
        out->ok[r] = split_row(&rd, line, len, &row) &&
                     encode_row(&rd, &plan, ENCODE_PREDICT, &row, x, NULL, NULL) == ROW_OK;
        if (!out->ok[r])
            memset(x, 0, inputs * sizeof *x);
        r++;
    }
    out->count = r;
    if (rd.e.count > CSV_MAX_ERRORS)
        ns_diag_add(diag, NS_ERR_DATA, (struct ns_loc){rd.f.path, 0, 0, 0}, NULL,
                    "%d errors in \"%s\" in all", rd.e.count, rd.f.path);
    csv_row_free(&row);
    plan_free(&plan);
    out->hdr = rd.hdr;
    memset(&rd.hdr, 0, sizeof rd.hdr);
    reader_close(&rd);
    return true;
}
