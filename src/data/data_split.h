/* Stratified splits and shuffles, deterministic from a 64-bit key.
 *
 *   double f[3] = {0.8, 0.1, 0.1};                  // train, validation, test
 *   struct data_split s;
 *   data_split_stratified(ds.labels, ds.count, ds.class_count, f, 3, key, &s);
 *   dataset_subset(&ds, s.index[0], s.count[0], &train); ...
 *   data_split_free(&s);
 *
 * Each class's samples are shuffled with a counter-based hash of (key, class, position) and
 * cut by the fractions: class c gives round-off-free counts that sum to its size (largest
 * remainder, ties to the earlier part). Indices within each part are ascending. The key is
 * the caller's: derive it from the seed and the stream "split". No state is shared, so the
 * result depends only on (labels, fractions, key).
 */
#ifndef DATA_SPLIT_H
#define DATA_SPLIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum { DATA_SPLIT_MAX_PARTS = 4 };

struct data_split {
    int part_count;
    size_t count[DATA_SPLIT_MAX_PARTS];
    size_t *index[DATA_SPLIT_MAX_PARTS]; /* (count[p]) ascending sample indices */
};

/* labels NULL (regression) = one class. fractions: part_count values >= 0 summing to 1
 * (within 1e-6). False only for invalid arguments (a programming error, not a data error). */
bool data_split_stratified(const int32_t *labels, size_t count, int class_count, const double *fractions,
                           int part_count, uint64_t key, struct data_split *out);
void data_split_free(struct data_split *split);
/* A permutation of 0..n-1 from `key` (e.g. seed, stream "shuffle", epoch). out: (n). */
void data_split_permutation(uint64_t key, size_t n, size_t *out);
/* A counter-based hash of (key, a, b): the one source of randomness the data layer uses. */
uint64_t data_split_hash(uint64_t key, uint64_t a, uint64_t b);
/* Mixes a stream name and numbers into a key: data_split_key(seed, "split", 0). */
uint64_t data_split_key(uint64_t seed, const char *stream, uint64_t counter);

#endif
