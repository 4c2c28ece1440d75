/* The key reference of netspec-spec(5), generated from the schema and op tables.
 *
 *   struct ns_buf out = {0};
 *   spec_doc_man_keys(&out, op_catalog());   // roff (man(7) macros): one .SS per section, case and op
 *   ... out.data ...
 *   ns_buf_free(&out);
 *
 * man/netspec-spec.5 holds a copy between the lines SPEC_DOC_BEGIN and SPEC_DOC_END;
 * tests/test_schema.c regenerates it and compares, so the page can not drift from the table.
 */
#ifndef SPEC_DOC_H
#define SPEC_DOC_H

#include "spec/spec_schema.h"

struct ns_buf;

#define SPEC_DOC_BEGIN ".\\\" BEGIN GENERATED KEYS"
#define SPEC_DOC_END ".\\\" END GENERATED KEYS"

/* Appends the subsections; every key is written as `.B key` on its own line after `.TP`. */
void spec_doc_man_keys(struct ns_buf *out, const struct spec_layer_catalog *catalog);

/* Appends `text` as roff body text: backslashes escaped, `code` spans in bold. */
void spec_doc_roff_text(struct ns_buf *out, const char *text);

#endif
