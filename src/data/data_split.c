#include "data/data_split.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/ns_util.h"

/* splitmix64's finaliser: a bijection that scrambles every input bit into every output bit. */
static uint64_t mix64(uint64_t z)
{
    z += 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* A counter-based draw: the value depends only on its arguments, never on call order. */
uint64_t data_split_hash(uint64_t key, uint64_t a, uint64_t b)
{
    return mix64(mix64(mix64(key) ^ a) ^ b);
}

uint64_t data_split_key(uint64_t seed, const char *stream, uint64_t counter)
{
    /* FNV-1a over the stream name keeps streams apart without a table of stream numbers. */
    uint64_t h = 0xcbf29ce484222325ull;
    for (const unsigned char *p = (const unsigned char *)stream; p && *p; p++)
        h = (h ^ *p) * 0x100000001b3ull;
    return data_split_hash(seed, h, counter);
}

/* Fisher-Yates where swap i draws from hash(key, tag, i). */
static void shuffle(size_t *a, size_t n, uint64_t key, uint64_t tag)
{
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)(data_split_hash(key, tag, i) % i);
        size_t t = a[i - 1];
        a[i - 1] = a[j];
        a[j] = t;
    }
}

void data_split_permutation(uint64_t key, size_t n, size_t *out)
{
    for (size_t i = 0; i < n; i++)
        out[i] = i;
    shuffle(out, n, key, UINT64_MAX);
}

static int cmp_size(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return x < y ? -1 : x > y;
}

void data_split_free(struct data_split *split)
{
    if (!split)
        return;
    for (int p = 0; p < DATA_SPLIT_MAX_PARTS; p++)
        free(split->index[p]);
    memset(split, 0, sizeof *split);
}

bool data_split_stratified(const int32_t *labels, size_t count, int class_count, const double *fractions,
                           int part_count, uint64_t key, struct data_split *out)
{
    memset(out, 0, sizeof *out);
    if (part_count < 1 || part_count > DATA_SPLIT_MAX_PARTS)
        return false;
    double sum = 0;
    for (int p = 0; p < part_count; p++) {
        if (!(fractions[p] >= 0))
            return false;
        sum += fractions[p];
    }
    if (fabs(sum - 1) > 1e-6)
        return false;
    int classes = labels ? class_count : 1;
    if (classes < 1)
        return false;
    for (size_t i = 0; labels && i < count; i++)
        if (labels[i] < 0 || labels[i] >= class_count)
            return false;

    /* Bucket the indices by class, in ascending order (a counting sort). */
    size_t *start = ns_xcalloc((size_t)classes + 1, sizeof *start);
    for (size_t i = 0; i < count; i++)
        start[(labels ? labels[i] : 0) + 1]++;
    for (int c = 0; c < classes; c++)
        start[c + 1] += start[c];
    size_t *order = ns_xmalloc((count ? count : 1) * sizeof *order);
    size_t *fill = ns_xmalloc((size_t)classes * sizeof *fill);
    memcpy(fill, start, (size_t)classes * sizeof *fill);
    for (size_t i = 0; i < count; i++)
        order[fill[labels ? labels[i] : 0]++] = i;
    free(fill);

    memset(out, 0, sizeof *out);
    out->part_count = part_count;
    for (int p = 0; p < part_count; p++)
        out->index[p] = ns_xmalloc((count ? count : 1) * sizeof *out->index[p]);
    for (int c = 0; c < classes; c++) {
        size_t n = start[c + 1] - start[c];
        size_t *members = order + start[c];
        shuffle(members, n, key, (uint64_t)c);
        /* Largest remainder: floors first, then the leftover samples to the biggest fractional
         * parts, ties to the earlier part, so the counts sum to n exactly. */
        size_t take[DATA_SPLIT_MAX_PARTS];
        double rem[DATA_SPLIT_MAX_PARTS];
        size_t given = 0;
        for (int p = 0; p < part_count; p++) {
            double want = fractions[p] * (double)n;
            take[p] = (size_t)floor(want);
            rem[p] = want - floor(want);
            given += take[p];
        }
        while (given < n) {
            int best = -1;
            for (int p = 0; p < part_count; p++)
                if (fractions[p] > 0 && (best < 0 || rem[p] > rem[best]))
                    best = p;
            take[best]++;
            rem[best] = -1;
            given++;
        }
        while (given > n) { /* floor never overshoots, but sum may be 1 + 1e-7 */
            for (int p = part_count - 1; p >= 0 && given > n; p--)
                if (take[p]) {
                    take[p]--;
                    given--;
                }
        }
        size_t at = 0;
        for (int p = 0; p < part_count; p++) {
            memcpy(out->index[p] + out->count[p], members + at, take[p] * sizeof *members);
            out->count[p] += take[p];
            at += take[p];
        }
    }
    for (int p = 0; p < part_count; p++)
        if (out->count[p] > 1)
            qsort(out->index[p], out->count[p], sizeof *out->index[p], cmp_size);
    free(order);
    free(start);
    return true;
}
