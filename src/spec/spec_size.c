#include "spec/spec_size.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
    const char *name;
    double factor;
} units[] = {
    {"B", 1.0},
    {"kB", 1e3}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12},
    {"KiB", 1024.0}, {"MiB", 1048576.0}, {"GiB", 1073741824.0}, {"TiB", 1099511627776.0},
};

bool spec_size_parse(const char *text, long long *bytes)
{
    const char *p = text;
    if (!p || !isdigit((unsigned char)*p))
        return false;
    char *end;
    double value = strtod(p, &end);
    /* strtod also reads exponents and hex; a size is digits with an optional fraction. */
    for (const char *q = p; q < end; q++)
        if (!isdigit((unsigned char)*q) && *q != '.')
            return false;
    double factor = 0;
    if (!*end) {
        factor = strchr(p, '.') ? 0 : 1; /* bare numbers are whole bytes */
    } else {
        const char *u = *end == ' ' ? end + 1 : end;
        for (size_t i = 0; i < sizeof units / sizeof *units; i++)
            if (!strcmp(u, units[i].name))
                factor = units[i].factor;
    }
    double total = floor(value * factor);
    if (!(total >= 1) || total > (double)SPEC_SIZE_MAX)
        return false;
    *bytes = (long long)total;
    return true;
}

void spec_size_format(double bytes, char out[SPEC_SIZE_TEXT_MAX])
{
    static const char *const names[] = {"bytes", "KiB", "MiB", "GiB", "TiB"};
    int u = 0;
    while (u < 4 && bytes >= 1024.0) {
        bytes /= 1024.0;
        u++;
    }
    if (u == 0)
        snprintf(out, SPEC_SIZE_TEXT_MAX, "%.0f bytes", bytes);
    else if (bytes < 10)
        snprintf(out, SPEC_SIZE_TEXT_MAX, "%.2f %s", bytes, names[u]);
    else if (bytes < 100)
        snprintf(out, SPEC_SIZE_TEXT_MAX, "%.1f %s", bytes, names[u]);
    else
        snprintf(out, SPEC_SIZE_TEXT_MAX, "%.0f %s", bytes, names[u]);
}

void spec_size_exact(long long bytes, char out[SPEC_SIZE_TEXT_MAX])
{
    static const char *const names[] = {"MiB", "GiB", "TiB"};
    /* From MiB up only: 2GB is 1953125KiB, which is exact but reads worse than the bytes. */
    if (bytes < (1LL << 20) || bytes % (1LL << 20)) {
        snprintf(out, SPEC_SIZE_TEXT_MAX, "%lld", bytes);
        return;
    }
    bytes >>= 20;
    int u = 0;
    while (u < 2 && bytes % 1024 == 0) {
        bytes /= 1024;
        u++;
    }
    snprintf(out, SPEC_SIZE_TEXT_MAX, "%lld%s", bytes, names[u]);
}
