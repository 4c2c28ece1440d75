#include "kernels/rng.h"

#include <math.h>

/* The SplitMix64 finaliser: a bijection on 64 bits with good avalanche. */
static uint64_t rng_fmix(uint64_t z)
{
    z ^= z >> 30;
    z *= 0xbf58476d1ce4e5b9ULL;
    z ^= z >> 27;
    z *= 0x94d049bb133111ebULL;
    z ^= z >> 31;
    return z;
}

uint64_t rng_mix(uint64_t key, uint64_t counter)
{
    /* Two rounds so that nearby keys and nearby counters both land far apart; the odd
     * multiplier keeps the counter step a bijection. */
    uint64_t z = rng_fmix(key + 0x9e3779b97f4a7c15ULL);
    return rng_fmix(z ^ (counter * 0xd1b54a32d192ed03ULL + 0x8cb92ba72f3d8dd7ULL));
}

float rng_uniform(uint64_t key, uint64_t counter)
{
    return (float)(rng_mix(key, counter) >> 40) * 0x1p-24f;
}

double rng_normal(uint64_t key, uint64_t counter)
{
    /* 53-bit uniforms; u1 in (0, 1] so the log is finite. */
    double u1 = ((double)(rng_mix(key, 2 * counter) >> 11) + 1.0) * 0x1p-53;
    double u2 = (double)(rng_mix(key, 2 * counter + 1) >> 11) * 0x1p-53;
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}
