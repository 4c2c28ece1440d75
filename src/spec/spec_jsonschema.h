/* `netspec schema`: the spec language as a JSON Schema (draft 2020-12) for editors.
 *
 *   char *json = spec_jsonschema(op_catalog());   // malloc'd; the caller frees it
 *   fputs(json, stdout);
 *   free(json);
 *
 * Generated from the schema table (spec_schema.c) and the op table (ops/op.h), so it can not
 * drift from what the validator accepts; grammar/netspec.schema.json is a checked-in copy that
 * tests/test_schema.c compares against. The output is deterministic, indented by two spaces
 * and ends with a newline.
 *
 * A spec with `extends:` is a partial spec (its base supplies the rest), so the required keys
 * are only enforced for specs without `extends:`: the root's properties are the lenient form
 * and `$defs/spec` the strict one.
 */
#ifndef SPEC_JSONSCHEMA_H
#define SPEC_JSONSCHEMA_H

#include "spec/spec_schema.h"

char *spec_jsonschema(const struct spec_layer_catalog *catalog);

#endif
