/* SHA-256 (FIPS 180-4), streaming, for the run manifest's data-file hashes.
 *
 *   char hex[65];
 *   if (ns_sha256_file(path, digest, &err)) ns_sha256_hex(digest, hex);
 *
 * Or incrementally: ns_sha256_init(&s); ns_sha256_update(&s, p, n)...; ns_sha256_final(&s, d).
 */
#ifndef NS_SHA256_H
#define NS_SHA256_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ns_sha256 {
    uint32_t h[8];
    uint64_t bytes;
    unsigned char block[64];
    size_t fill;
};

void ns_sha256_init(struct ns_sha256 *s);
void ns_sha256_update(struct ns_sha256 *s, const void *data, size_t n);
void ns_sha256_final(struct ns_sha256 *s, uint8_t digest[32]);
/* Hashes a whole file in 64 KiB reads. False with *err = errno when it cannot be read. */
bool ns_sha256_file(const char *path, uint8_t digest[32], int *err);
/* Lower-case hex, NUL-terminated. */
void ns_sha256_hex(const uint8_t digest[32], char out[65]);

#endif
