/* Small checked helpers every layer uses: allocation that aborts on exhaustion (the one
 * failure we do not report as a value: nothing sensible can follow it), formatted strings,
 * growable byte buffers and edit distance for "did you mean" hints. */
#ifndef NS_UTIL_H
#define NS_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

void *ns_xmalloc(size_t size);
void *ns_xcalloc(size_t count, size_t size);
void *ns_xrealloc(void *ptr, size_t size);
char *ns_xstrdup(const char *s);
char *ns_xstrndup(const char *s, size_t n);
char *ns_asprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *ns_vasprintf(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

/* A growable string; `data` is always NUL-terminated once anything was appended. */
struct ns_buf {
    char *data;
    size_t len, cap;
};
void ns_buf_append(struct ns_buf *buf, const char *s, size_t n);
void ns_buf_puts(struct ns_buf *buf, const char *s);
void ns_buf_printf(struct ns_buf *buf, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void ns_buf_free(struct ns_buf *buf);
/* Appends `s` as a JSON string literal, quotes and escapes included (NULL writes ""). */
void ns_buf_put_json_string(struct ns_buf *buf, const char *s);

/* The whole file, NUL-terminated (malloc'd; `*len` gets its size when not NULL). NULL on
 * failure with the errno in `*err` (EFBIG when the file is larger than `max`; 0 = no limit). */
char *ns_read_file(const char *path, size_t max, size_t *len, int *err);

/* Levenshtein distance, capped: returns cap+1 when it exceeds `cap`. */
/* Seconds the calling thread has spent runnable but waiting for a CPU since it started (the
 * kernel's run-queue delay, /proc/thread-self/schedstat); < 0 when the system does not say. */
double ns_sched_wait_seconds(void);
/* Threads runnable on the whole machine right now, the caller included ("procs_running" in
 * /proc/stat); < 0 when the system does not say. */
int ns_running_threads(void);

size_t ns_edit_distance(const char *a, const char *b, size_t cap);
/* The candidate closest to `word` if it is close enough to be a plausible typo, else NULL. */
const char *ns_closest(const char *word, const char *const *candidates, size_t count);

#endif
