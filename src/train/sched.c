#include "train/sched.h"

#include <math.h>

void sched_init(struct sched *s, const struct spec_schedule *spec, double base_lr, int epochs,
                long long steps_per_epoch)
{
    s->type = spec->type;
    s->base_lr = base_lr;
    s->min_lr = spec->min_lr;
    s->gamma = spec->gamma;
    s->step_size = spec->step_size > 0 ? spec->step_size : 1;
    s->steps_per_epoch = steps_per_epoch > 0 ? steps_per_epoch : 1;
    s->warmup_steps = (long long)spec->warmup_epochs * s->steps_per_epoch;
    s->total_steps = (long long)epochs * s->steps_per_epoch;
}

double sched_lr(const struct sched *s, long long step)
{
    double warm = 1.0;
    if (step < s->warmup_steps)
        warm = (double)(step + 1) / (double)s->warmup_steps;
    double lr = s->base_lr;
    switch (s->type) {
    case SCHED_STEP:
        lr = s->base_lr * pow(s->gamma, (double)(step / s->steps_per_epoch / s->step_size));
        break;
    case SCHED_COSINE: {
        double p = 0.0;
        long long span = s->total_steps - s->warmup_steps;
        if (step > s->warmup_steps && span > 0)
            p = (double)(step - s->warmup_steps) / (double)span;
        if (p > 1.0)
            p = 1.0;
        lr = s->min_lr + (s->base_lr - s->min_lr) * 0.5 * (1.0 + cos(3.14159265358979323846 * p));
        break;
    }
    default:
        break;
    }
    return warm * lr;
}
