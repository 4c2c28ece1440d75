/* exact_emitted INPUTS.idx COUNT: the outputs of the C that `netspec emit RUN -o DIR --prefix
 * net` wrote, for the first COUNT images of INPUTS.idx, in exact_io.h's format. Not built by
 * make: scripts/cross-check.sh compiles it with DIR/net.c by each compiler under test,
 *
 *     CC -O2 -I DIR tests/exact_emitted.c DIR/net.c -lm
 *
 * and compares its output with exact_runtime's. The logits come from net_logits, the
 * probabilities and the class from net_classify: the emitted API as a user calls it. */
#include <stdio.h>
#include <stdlib.h>

#include "exact_io.h"
#include "net.h"

int main(int argc, char **argv)
{
    const char *why = NULL;
    unsigned char *bytes;
    float *workspace, raw[NET_INPUT_SIZE], x[NET_INPUT_SIZE], z[NET_OUTPUT_SIZE], p[NET_CLASS_COUNT];
    size_t count, i, j;
    char *end;
    if (argc != 3) {
        fprintf(stderr, "usage: %s INPUTS.idx COUNT\n", argv[0]);
        return 2;
    }
    count = (size_t)strtoul(argv[2], &end, 10);
    if (*end || end == argv[2]) {
        fprintf(stderr, "%s: COUNT must be a number, not \"%s\"\n", argv[0], argv[2]);
        return 2;
    }
    bytes = exact_read_idx(argv[1], count, NET_INPUT_HEIGHT, NET_INPUT_WIDTH, NET_INPUT_CHANNELS, &why);
    if (!bytes) {
        fprintf(stderr, "%s: %s: %s\n", argv[0], argv[1], why);
        return 1;
    }
    workspace = malloc(NET_WORKSPACE_BYTES);
    if (!workspace) {
        fprintf(stderr, "%s: out of memory\n", argv[0]);
        return 1;
    }
    for (i = 0; i < count; i++) {
        int cls;
        for (j = 0; j < NET_INPUT_SIZE; j++)
            raw[j] = (float)bytes[i * NET_INPUT_SIZE + j];
        net_preprocess(raw, x);
        net_logits(x, z, workspace);
        cls = net_classify(raw, p, workspace);
        exact_print(i, z, NET_OUTPUT_SIZE, p, NET_CLASS_COUNT, cls);
    }
    free(workspace);
    free(bytes);
    return fflush(stdout) == 0 ? 0 : 1;
}
