/* A counter-based random number generator: every draw is a pure function of (key, counter),
 * so a value never depends on how many draws came before it, on batching, or on threads.
 *
 *   uint64_t key = rng_mix(rng_mix(seed, RNG_STREAM_DROPOUT), epoch);
 *   float u = rng_uniform(rng_mix(key, sample_id), element);   // in [0, 1)
 *
 * There is no state to own or share; keys are derived by mixing in one more counter.
 */
#ifndef RNG_H
#define RNG_H

#include <stdint.h>

/* A 64-bit hash of (key, counter) with full avalanche; distinct counters under one key give
 * distinct outputs (the mix is a bijection of the counter for a fixed key). */
uint64_t rng_mix(uint64_t key, uint64_t counter);
/* Uniform in [0, 1) with 24 random bits: every value is exactly representable as a float. */
float rng_uniform(uint64_t key, uint64_t counter);
/* Standard normal (Box-Muller on the draws 2*counter and 2*counter+1), in double. */
double rng_normal(uint64_t key, uint64_t counter);

#endif
