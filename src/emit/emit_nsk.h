/* The text of kernels/nsk.h, embedded at build time (src/emit/local.mk), which emit.c copies
 * verbatim into every emitted classifier: the emitted code and the runtime compile one source.
 *
 *   ns_buf_puts(out, emit_nsk_text);
 */
#ifndef EMIT_NSK_H
#define EMIT_NSK_H

/* nsk.h's bytes, NUL-terminated. */
extern const char emit_nsk_text[];

#endif
