/* libFuzzer harness: the spec loader, as `netspec check` and `resolve` call it.
 *
 * Input: SPEC [%% BASE [%% SET]...] (FUZZ_SEP lines between the parts). SPEC is written to
 * spec.yaml, BASE to base.yaml beside it (so `extends: base.yaml` reaches the second fuzzed
 * file, and base.yaml may extend spec.yaml back), each SET is one `--set path=value`.
 * Then spec_load, and for a spec that loads:
 *   - the resolve contract of netspec-resolve: the resolved YAML, loaded again, resolves to
 *     the same text byte for byte;
 *   - shape inference: graph_build on model.input (when given) with three classes.
 * A failed load must carry located errors (FILE:LINE:COL, or the --set argument).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/ns_ctx.h"
#include "graph/graph.h"
#include "ops/op.h"
#include "spec/spec.h"
#include "spec/spec_resolve.h"

#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_resolve_round_trip(const struct spec *spec)
{
    char *first = spec_resolve_yaml(spec);
    const char *path = fuzz_write("resolved.yaml", first, strlen(first));
    struct ns_ctx again;
    ns_ctx_init(&again);
    again.threads = 1;
    struct spec *reloaded = spec_load(&again, op_catalog(), path, NULL, 0);
    if (!reloaded) {
        fuzz_print_diag(&again.diag);
        fuzz_fail("the resolved spec does not load again (%s)\n%s",
                  again.diag.count ? again.diag.items[0].message : "no error", first);
    }
    char *second = spec_resolve_yaml(reloaded);
    if (strcmp(first, second) != 0)
        fuzz_fail("resolving the resolved spec changes it:\n%s\n--- became ---\n%s", first, second);
    free(second);
    free(first);
    ns_ctx_free(&again);
}

static void check_shapes(struct ns_ctx *ctx, const struct spec *spec)
{
    if (spec->model.input.rank == 0)
        return;
    size_t before = ctx->diag.count;
    struct graph *g = graph_build(ctx, spec, spec->model.input, 3);
    if (!g && ctx->diag.count == before)
        fuzz_fail("graph_build returned NULL without an error");
    if (!g)
        fuzz_check_failure(&ctx->diag, "graph_build", true);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_parts parts;
    fuzz_split(data, size, &parts);
    const char *path = fuzz_write("spec.yaml", parts.data[0], parts.size[0]);
    if (parts.count > 1)
        fuzz_write("base.yaml", parts.data[1], parts.size[1]);
    else
        fuzz_unlink("base.yaml");
    char *sets[FUZZ_MAX_PARTS];
    size_t set_count = 0;
    for (size_t i = 2; i < parts.count; i++)
        sets[set_count++] = fuzz_strndup(parts.data[i], parts.size[i]);

    struct ns_ctx ctx;
    ns_ctx_init(&ctx);
    ctx.threads = 1;
    struct spec *spec = spec_load(&ctx, op_catalog(), path, (const char *const *)sets, set_count);
    if (spec) {
        check_resolve_round_trip(spec);
        check_shapes(&ctx, spec);
    } else {
        fuzz_check_failure(&ctx.diag, "spec_load", true);
    }
    ns_ctx_free(&ctx);
    for (size_t i = 0; i < set_count; i++)
        free(sets[i]);
    return 0;
}
