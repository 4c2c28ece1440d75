/* model.nsm: a training run's state in one versioned, checksummed, little-endian file.
 *
 *   checkpoint_write(diag, "runs/x/model.nsm", g, &st);     // atomic: tmp file, fsync, rename
 *   struct train_state st;
 *   train_state_blank(&st, spec, g);
 *   checkpoint_read(diag, "runs/x/model.nsm", g, &st);      // checks magic, version, CRC, layout
 *
 * Layout: the magic "\x89NSM\r\n\x1a\n", u32 format version, u32 section count, then sections
 * (4-byte tag, u32 zero, u64 payload bytes, payload), then u32 CRC-32 (zlib) of every byte
 * before it. Sections:
 *   META  u64 seed, u64 param_floats, u32 tensor count, then per tensor: u32 node, u32 index,
 *         u64 floats, u8 trainable, and three u16-length strings: node name, op, tensor name
 *   WGHT  param_floats f32: the flat parameter buffer of graph.h (every tensor, in node order)
 *   OPTM  u32 type, u64 steps, u64 m floats, u64 v floats, m f32..., v f32...
 *   PROG  i32 epoch, i32 batch, f64 epoch loss sum, u64 correct, u64 seen, u8 finished,
 *         u8 stopped early
 *   HIST  u32 epochs, then per epoch f64 train loss, train metric, val loss, val metric, lr
 *   ESTP  f64 best, i32 best epoch, i32 epochs without improvement
 *   BIND  64 hex digits: SHA-256 of the run's spec.resolved.yaml, then 64 of its model.yaml
 *         (version 2; train_state.spec_sha256 and model_sha256)
 * Readers skip sections they do not know. Nothing depends on time, paths or threads, so the
 * same run gives the same bytes.
 */
#ifndef CHECKPOINT_H
#define CHECKPOINT_H

#include <stdbool.h>

#include "core/ns_error.h"
#include "graph/graph.h"
#include "train/train_state.h"

enum { CHECKPOINT_VERSION = 2 };

/* Whole or not at all (ns_file_replace): a failure is an NS_ERR_OUTPUT error and leaves the
 * previous checkpoint in place, loadable. */
bool checkpoint_write(struct ns_diag *diag, const char *path, const struct graph *g,
                      const struct train_state *st);
/* st must come from train_state_blank (or init) for the same spec and graph. A file of
 * another graph, a bad checksum or a truncated file is an NS_ERR_DATA error naming the path. */
bool checkpoint_read(struct ns_diag *diag, const char *path, const struct graph *g,
                     struct train_state *st);

/* Only the run binding (section BIND), after the same magic, checksum and version checks:
 * what a loader compares with the run's files before it trusts any of them. */
bool checkpoint_read_binding(struct ns_diag *diag, const char *path, char spec_sha256[65],
                             char model_sha256[65]);

#endif
