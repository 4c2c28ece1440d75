/* Errors as values.
 *
 *   struct ns_diag diag = {0};
 *   if (!spec_load(&ctx, path, &spec)) { ... diag.items[0..n) hold located errors ... }
 *   ns_diag_free(&diag);
 *
 * Library code appends to a diag sink carried by the context and returns false; it never
 * prints or exits. Only src/main.c (through ns_diag_print) turns errors into text.
 * The diag owns every string it holds.
 */
#ifndef NS_ERROR_H
#define NS_ERROR_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* Exit codes are part of the user contract (DESIGN.md §3). */
enum ns_code {
    NS_OK = 0,
    NS_ERR_INTERNAL = 1,
    NS_ERR_SPEC = 2, /* usage and spec errors */
    NS_ERR_DATA = 3,
    NS_ERR_DIVERGED = 4,
    NS_ERR_OUTPUT = 5, /* an output could not be written: disk full, permissions, a path in the way */
};

struct ns_loc {
    const char *file; /* borrowed; NULL when the error has no place */
    int line;         /* 1-based, 0 = unknown */
    int col;          /* 1-based, 0 = unknown */
    int span;         /* characters to underline, at least 1 */
};

struct ns_error {
    enum ns_code code;
    char *file;
    int line, col, span;
    char *message;
    char *hint; /* may hold several lines; NULL when none */
};

struct ns_diag {
    struct ns_error *items;
    size_t count, cap;
    size_t limit; /* stop collecting after this many (0 = 100) */
};

void ns_diag_add(struct ns_diag *diag, enum ns_code code, struct ns_loc loc,
                 const char *hint, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
void ns_diag_vadd(struct ns_diag *diag, enum ns_code code, struct ns_loc loc,
                  const char *hint, const char *fmt, va_list ap)
    __attribute__((format(printf, 5, 0)));
/* Appends a hint line to the most recent error. */
void ns_diag_hint(struct ns_diag *diag, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
bool ns_diag_has_errors(const struct ns_diag *diag);
/* The exit code of the worst error: data errors win over spec errors only when no spec error
 * exists, internal errors over both. */
enum ns_code ns_diag_code(const struct ns_diag *diag);
void ns_diag_clear(struct ns_diag *diag);
void ns_diag_free(struct ns_diag *diag);
/* Prints compiler-style: FILE:LINE:COL: error: MSG, the source line with a caret, hints. */
void ns_diag_print(const struct ns_diag *diag, FILE *out, bool color);
/* The first line only, exactly as ns_diag_print writes it (used by the tests). */
char *ns_error_first_line(const struct ns_error *err);

#endif
