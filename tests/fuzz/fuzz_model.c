/* libFuzzer harness: a run directory loaded back (model_load: what eval, predict and emit
 * start with): spec.resolved.yaml, model.yaml and model.nsm.
 *
 * Input: one flags byte, then SPEC %% MODEL_YAML %% MODEL_NSM (FUZZ_SEP between them; a
 * missing part is a missing file, but model.yaml is always written). model.nsm is checksummed and bound to the other two files
 * by their SHA-256, which a mutation almost never keeps right, so unless the flags say
 * otherwise the harness repairs what the fuzzer cannot: bit 0 clear: write the real SHA-256
 * of the two files into a BIND section; bit 1 clear: recompute the CRC-32 at the end. With
 * the bits set, the damaged binding and checksum paths run. Bit 2: emit the loaded model as
 * C (emit_classifier), as `netspec emit` does.
 * Oracle: a failure carries errors; a loaded model has what its spec says (graph, weights,
 * class names).
 * A run whose spec declares more parameters than its model.nsm can hold must be refused before
 * they are allocated (-malloc_limit_mb turns such an allocation into a finding).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "core/ns_ctx.h"
#include "core/ns_sha256.h"
#include "emit/emit.h"
#include "model/model.h"
#include "ops/op.h"
#include "spec/spec.h"

#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void sha256_hex(const uint8_t *data, size_t size, char hex[65])
{
    struct ns_sha256 s;
    uint8_t digest[32];
    ns_sha256_init(&s);
    ns_sha256_update(&s, data, size);
    ns_sha256_final(&s, digest);
    ns_sha256_hex(digest, hex);
}

static uint64_t get_le(const uint8_t *p, int bytes)
{
    uint64_t v = 0;
    for (int i = 0; i < bytes; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

/* Sections as checkpoint.h lays them out: magic, version, count, then tag, zero, size. */
static void repair_binding(uint8_t *nsm, size_t size, const char spec_hex[65], const char model_hex[65])
{
    size_t at = 8 + 8;
    while (at + 16 <= size) {
        uint64_t len = get_le(nsm + at + 8, 8);
        if (len > size - at - 16)
            return;
        if (memcmp(nsm + at, "BIND", 4) == 0 && len >= 128) {
            memcpy(nsm + at + 16, spec_hex, 64);
            memcpy(nsm + at + 16 + 64, model_hex, 64);
        }
        at += 16 + (size_t)len;
    }
}

static void repair_crc(uint8_t *nsm, size_t size)
{
    if (size < 4)
        return;
    uLong crc = crc32(crc32(0L, Z_NULL, 0), nsm, (uInt)(size - 4));
    for (int i = 0; i < 4; i++)
        nsm[size - 4 + (size_t)i] = (uint8_t)(crc >> (8 * i));
}

/* The parameters the run's files declare, as model_load builds the graph from them (spec and
 * model.yaml's input and classes); 0 when they do not say. */
/* As `netspec emit` does it (cmd_emit.c). */
static void emit_loaded(struct ns_ctx *ctx, const struct model *run)
{
    struct emit_model m = {.g = run->g, .params = run->st.params, .class_count = run->info.class_count,
                           .class_names = (const char *const *)run->class_names,
                           .target_name = run->info.class_count > 0 ? NULL : run->spec->data.label_column,
                           .loss = run->spec->loss.type, .norm = &run->norm, .csv = run->csv,
                           .name = run->spec->name, .source = "run", .version = "fuzz"};
    char prefix[EMIT_PREFIX_MAX];
    emit_prefix_from_name(run->spec->name, prefix);
    struct emit_files files;
    if (emit_classifier(&ctx->diag, &m, prefix, false, &files))
        emit_files_free(&files);
    else
        fuzz_check_failure(&ctx->diag, "emit_classifier", false);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    unsigned flags = data[0];
    struct fuzz_parts parts;
    fuzz_split(data + 1, size - 1, &parts);
    const char *dir = fuzz_mkdir("run");
    const char *names[3] = {"run/spec.resolved.yaml", "run/model.yaml", "run/model.nsm"};
    for (size_t i = 0; i < 3; i++)
        fuzz_unlink(names[i]);
    /* model.yaml is always there (empty when the part is missing): without it model_load
     * probes the data files the fuzzed spec names, which may be anything on this machine. */
    char hex[2][65];
    for (size_t i = 0; i < 2; i++) {
        const uint8_t *part = i < parts.count ? parts.data[i] : (const uint8_t *)"";
        size_t part_size = i < parts.count ? parts.size[i] : 0;
        if (i < parts.count || i == 1)
            fuzz_write(names[i], part, part_size);
        sha256_hex(part, part_size, hex[i]);
    }
    if (parts.count > 2) {
        uint8_t *nsm = malloc(parts.size[2] ? parts.size[2] : 1);
        memcpy(nsm, parts.data[2], parts.size[2]);
        if (!(flags & 1))
            repair_binding(nsm, parts.size[2], hex[0], hex[1]);
        if (!(flags & 2))
            repair_crc(nsm, parts.size[2]);
        fuzz_write(names[2], nsm, parts.size[2]);
        free(nsm);
    }

    struct ns_ctx ctx;
    ns_ctx_init(&ctx);
    ctx.threads = 1;
    struct model run;
    if (model_load(&ctx, dir, &run)) {
        if (!run.g || !run.st.params || run.st.param_floats != run.g->param_floats)
            fuzz_fail("model_load succeeds without a graph and its weights");
        for (int c = 0; c < run.info.class_count; c++)
            if (!run.class_names || !run.class_names[c])
                fuzz_fail("class %d of %d has no name", c, run.info.class_count);
        if (flags & 4)
            emit_loaded(&ctx, &run);
        model_free(&run);
    } else {
        fuzz_check_failure(&ctx.diag, "model_load", true);
    }
    ns_ctx_free(&ctx);
    return 0;
}
