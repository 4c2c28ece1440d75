#include "train/init.h"

#include <math.h>

#include "data/data_split.h"
#include "kernels/rng.h"

uint64_t init_stream_key(uint64_t seed, const char *stream, uint64_t counter)
{
    /* One derivation for every stream, shared with the data split. */
    return data_split_key(seed, stream, counter);
}

void init_tensor(const struct op_tensor_desc *desc, uint64_t tensor_key, float *out)
{
    if (desc->constant || desc->init == INIT_ZEROS) {
        float value = desc->constant ? (float)desc->init_value : 0.0f;
        for (size_t i = 0; i < desc->size; i++)
            out[i] = value;
        return;
    }
    double fan_in = desc->fan_in > 0 ? desc->fan_in : 1;
    double fan_out = desc->fan_out > 0 ? desc->fan_out : 1;
    double scale = 0;
    bool normal = true;
    switch (desc->init) {
    case INIT_HE_NORMAL:
        scale = sqrt(2.0 / fan_in);
        break;
    case INIT_HE_UNIFORM:
        scale = sqrt(6.0 / fan_in);
        normal = false;
        break;
    case INIT_GLOROT_NORMAL:
        scale = sqrt(2.0 / (fan_in + fan_out));
        break;
    case INIT_LECUN_NORMAL:
        scale = sqrt(1.0 / fan_in);
        break;
    case INIT_GLOROT_UNIFORM:
    default:
        scale = sqrt(6.0 / (fan_in + fan_out));
        normal = false;
        break;
    }
    for (size_t i = 0; i < desc->size; i++) {
        double u = normal ? rng_normal(tensor_key, i) : 2.0 * (double)rng_uniform(tensor_key, i) - 1.0;
        out[i] = (float)(scale * u);
    }
}

void init_params(const struct graph *g, uint64_t seed, float *params)
{
    uint64_t key = init_stream_key(seed, "init", 0);
    for (size_t i = 0; i < g->node_count; i++) {
        const struct op_node *node = &g->nodes[i];
        for (int t = 0; t < node->tensor_count; t++)
            init_tensor(&node->tensors[t], rng_mix(key, (uint64_t)i * OP_MAX_TENSORS + (uint64_t)t),
                        params + node->tensor_offset[t]);
    }
}
