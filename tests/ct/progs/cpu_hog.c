/* Spin on one CPU for a few seconds and measure the CPU time we got over
 * the wall time: with a CPU quota (cfs_quota/period) it stays near the
 * quota.
 *
 *   cpu_hog [-t SECONDS] [-r MAX_RATIO]
 * Exit 0 when cpu/wall <= MAX_RATIO (default 0.25), 1 with "ESCAPED: ..."
 * otherwise. */
#include <time.h>

#include "ct_prog.h"

static double seconds_of(clockid_t c)
{
    struct timespec ts;
    clock_gettime(c, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    double seconds = 3, max_ratio = 0.25;
    int opt;
    while ((opt = getopt(argc, argv, "t:r:")) != -1) {
        if (opt == 't')
            seconds = atof(optarg);
        else if (opt == 'r')
            max_ratio = atof(optarg);
        else {
            fprintf(stderr, "usage: %s [-t SECONDS] [-r MAX_RATIO]\n", argv[0]);
            return 2;
        }
    }
    say("TRY: spinning for %.1fs", seconds);
    double w0 = seconds_of(CLOCK_MONOTONIC), c0 = seconds_of(CLOCK_PROCESS_CPUTIME_ID);
    volatile unsigned long spins = 0;
    while (seconds_of(CLOCK_MONOTONIC) - w0 < seconds)
        for (int i = 0; i < 100000; i++)
            spins++;
    double wall = seconds_of(CLOCK_MONOTONIC) - w0;
    double cpu = seconds_of(CLOCK_PROCESS_CPUTIME_ID) - c0;
    double ratio = cpu / wall;
    say("cpu %.3fs over wall %.3fs: %.1f%% of one CPU", cpu, wall, ratio * 100);
    if (ratio <= max_ratio) {
        say("SAFE: %.1f%% <= %.1f%%", ratio * 100, max_ratio * 100);
        return 0;
    }
    say("ESCAPED: %.1f%% > %.1f%%", ratio * 100, max_ratio * 100);
    return 1;
}
