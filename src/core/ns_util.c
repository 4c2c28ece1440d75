#include "core/ns_util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *check_alloc(void *ptr)
{
    if (!ptr) {
        fputs("netspec: out of memory\n", stderr);
        abort();
    }
    return ptr;
}

void *ns_xmalloc(size_t size)
{
    return check_alloc(malloc(size ? size : 1));
}

void *ns_xcalloc(size_t count, size_t size)
{
    return check_alloc(calloc(count ? count : 1, size ? size : 1));
}

void *ns_xrealloc(void *ptr, size_t size)
{
    return check_alloc(realloc(ptr, size ? size : 1));
}

char *ns_xstrdup(const char *s)
{
    return ns_xstrndup(s, strlen(s));
}

char *ns_xstrndup(const char *s, size_t n)
{
    char *copy = ns_xmalloc(n + 1);
    memcpy(copy, s, n);
    copy[n] = '\0';
    return copy;
}

char *ns_vasprintf(const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        return ns_xstrdup("(unformattable message)");
    char *s = ns_xmalloc((size_t)n + 1);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    return s;
}

char *ns_asprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = ns_vasprintf(fmt, ap);
    va_end(ap);
    return s;
}

/* Room for n more bytes and the terminating NUL. */
static void buf_reserve(struct ns_buf *buf, size_t n)
{
    if (buf->len + n + 1 > buf->cap) {
        size_t cap = buf->cap ? buf->cap : 64;
        while (cap < buf->len + n + 1)
            cap *= 2;
        buf->data = ns_xrealloc(buf->data, cap);
        buf->cap = cap;
    }
}

void ns_buf_append(struct ns_buf *buf, const char *s, size_t n)
{
    buf_reserve(buf, n);
    memcpy(buf->data + buf->len, s, n);
    buf->len += n;
    buf->data[buf->len] = '\0';
}

void ns_buf_puts(struct ns_buf *buf, const char *s)
{
    ns_buf_append(buf, s, strlen(s));
}

void ns_buf_printf(struct ns_buf *buf, const char *fmt, ...)
{
    /* Formatted straight into the spare room, grown and formatted again only when it does not
     * fit: the emitter writes a model's weights a few numbers per call. */
    va_list ap, again;
    va_start(ap, fmt);
    va_copy(again, ap);
    size_t room = buf->cap > buf->len ? buf->cap - buf->len : 0;
    int n = vsnprintf(room ? buf->data + buf->len : NULL, room, fmt, ap);
    va_end(ap);
    if (n < 0) {
        va_end(again);
        if (buf->data)
            buf->data[buf->len] = '\0';
        ns_buf_puts(buf, "(unformattable text)");
        return;
    }
    if ((size_t)n >= room) {
        buf_reserve(buf, (size_t)n);
        vsnprintf(buf->data + buf->len, (size_t)n + 1, fmt, again);
    }
    va_end(again);
    buf->len += (size_t)n;
}

void ns_buf_free(struct ns_buf *buf)
{
    free(buf->data);
    buf->data = NULL;
    buf->len = buf->cap = 0;
}

char *ns_read_file(const char *path, size_t max, size_t *len, int *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        if (err)
            *err = errno;
        return NULL;
    }
    struct ns_buf buf = {0};
    ns_buf_puts(&buf, "");
    char chunk[65536];
    size_t n;
    int failure = 0;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (max && buf.len + n > max) {
            failure = EFBIG;
            break;
        }
        ns_buf_append(&buf, chunk, n);
    }
    if (!failure && ferror(f))
        failure = errno ? errno : EIO;
    fclose(f);
    if (failure) {
        if (err)
            *err = failure;
        ns_buf_free(&buf);
        return NULL;
    }
    if (len)
        *len = buf.len;
    return buf.data;
}

void ns_buf_put_json_string(struct ns_buf *buf, const char *s)
{
    ns_buf_puts(buf, "\"");
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
        switch (*p) {
        case '"':
            ns_buf_puts(buf, "\\\"");
            break;
        case '\\':
            ns_buf_puts(buf, "\\\\");
            break;
        case '\n':
            ns_buf_puts(buf, "\\n");
            break;
        case '\r':
            ns_buf_puts(buf, "\\r");
            break;
        case '\t':
            ns_buf_puts(buf, "\\t");
            break;
        default:
            if (*p < 0x20)
                ns_buf_printf(buf, "\\u%04x", *p);
            else
                ns_buf_append(buf, (const char *)p, 1);
        }
    }
    ns_buf_puts(buf, "\"");
}

size_t ns_edit_distance(const char *a, const char *b, size_t cap)
{
    /* Optimal string alignment: a swap of two neighbours ("rleu", "adma") is one typo. */
    size_t la = strlen(a), lb = strlen(b);
    if (la > 64 || lb > 64)
        return cap + 1;
    size_t diff = la > lb ? la - lb : lb - la;
    if (diff > cap)
        return cap + 1;
    size_t d[65][65];
    for (size_t i = 0; i <= la; i++)
        d[i][0] = i;
    for (size_t j = 0; j <= lb; j++)
        d[0][j] = j;
    for (size_t i = 1; i <= la; i++)
        for (size_t j = 1; j <= lb; j++) {
            size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
            size_t best = d[i - 1][j - 1] + cost;
            if (d[i - 1][j] + 1 < best)
                best = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < best)
                best = d[i][j - 1] + 1;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1 < best)
                best = d[i - 2][j - 2] + 1;
            d[i][j] = best;
        }
    return d[la][lb] > cap ? cap + 1 : d[la][lb];
}

const char *ns_closest(const char *word, const char *const *candidates, size_t count)
{
    /* A third of the word's length, at least 1 and at most 3, reads as "a typo" rather than
     * "a different word". */
    size_t len = strlen(word);
    size_t cap = len / 3;
    if (cap < 1)
        cap = 1;
    if (cap > 3)
        cap = 3;
    const char *best = NULL;
    size_t best_d = cap + 1;
    for (size_t i = 0; i < count; i++) {
        size_t d = ns_edit_distance(word, candidates[i], cap);
        if (d < best_d) {
            best_d = d;
            best = candidates[i];
        }
    }
    return best;
}

int ns_running_threads(void)
{
    FILE *f = fopen("/proc/stat", "r");
    if (!f)
        return -1;
    char line[256];
    int running = -1;
    while (running < 0 && fgets(line, sizeof line, f))
        if (sscanf(line, "procs_running %d", &running) != 1)
            running = -1;
    fclose(f);
    return running;
}

double ns_sched_wait_seconds(void)
{
    FILE *f = fopen("/proc/thread-self/schedstat", "r");
    if (!f)
        return -1;
    unsigned long long on_cpu = 0, waiting = 0;
    int got = fscanf(f, "%llu %llu", &on_cpu, &waiting);
    fclose(f);
    return got == 2 ? (double)waiting * 1e-9 : -1;
}
