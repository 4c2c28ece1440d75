/* Learning-rate schedules, evaluated per step (batch), so warmup and cosine move smoothly.
 *
 *   struct sched s;
 *   sched_init(&s, &spec->schedule, spec->optimizer.lr, epochs, steps_per_epoch);
 *   double lr = sched_lr(&s, global_step);        // global_step = epoch * steps_per_epoch + batch
 *
 * lr(step) = warmup(step) * main(step):
 *   warmup = min(1, (step + 1) / (warmup_epochs * steps_per_epoch)): a linear ramp from near 0
 *            to the peak over the warmup epochs (1 when warmup_epochs is 0);
 *   constant: lr;  step: lr * gamma^floor(epoch / step_size), epoch = step / steps_per_epoch;
 *   cosine: min_lr + (lr - min_lr) (1 + cos(pi p)) / 2 with p the fraction of the steps after
 *           warmup that came before this one: lr at the end of warmup, min_lr at the end of
 *           the last epoch.
 * A pure function of the step: a resumed run gets the same rates.
 */
#ifndef SCHED_H
#define SCHED_H

#include "spec/spec.h"

struct sched {
    int type; /* enum spec_schedule_type */
    double base_lr, min_lr, gamma;
    int step_size;
    long long steps_per_epoch, warmup_steps, total_steps;
};

void sched_init(struct sched *s, const struct spec_schedule *spec, double base_lr, int epochs,
                long long steps_per_epoch);
double sched_lr(const struct sched *s, long long step);

#endif
