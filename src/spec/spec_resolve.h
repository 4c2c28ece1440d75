/* `netspec resolve`: a validated spec written back as YAML with every default spelled out.
 *
 *   char *yaml = spec_resolve_yaml(spec);   // malloc'd; the caller frees it
 *   fputs(yaml, stdout);
 *   free(yaml);
 *
 * Keys come in schema order, floats in their shortest round-trip form and strings are quoted
 * only when YAML would read them as something else, so loading the output again resolves to
 * the same text byte for byte. `extends` is never written: it is already merged.
 */
#ifndef SPEC_RESOLVE_H
#define SPEC_RESOLVE_H

#include <stdbool.h>

#include "spec/spec.h"

struct ns_buf;

char *spec_resolve_yaml(const struct spec *spec);

/* Shortest text that reads back as the same double, always with a '.' (and a signed exponent
 * when it has one) so that YAML 1.1 and 1.2 readers and JSON all see a float: 0.001, 10.0,
 * 1.0e-08, 0.00392156862745098. The positional form is used for exponents -4 to 15. */
enum { SPEC_RESOLVE_DOUBLE_MAX = 40 };
void spec_resolve_format_double(double value, char out[SPEC_RESOLVE_DOUBLE_MAX]);

/* True when `text` can be written as a plain YAML scalar, in block and flow context alike,
 * and still reads back as the same string (not a number, bool, null or syntax). */
bool spec_resolve_plain_ok(const char *text);
/* Appends `text` as a YAML scalar: plain when that is safe, else double-quoted with escapes. */
void spec_resolve_put_string(struct ns_buf *out, const char *text);

#endif
