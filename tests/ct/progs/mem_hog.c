/* Allocate and touch memory 1 MiB at a time, printing progress, until
 * MAX MiB: with a memory limit the kernel OOM-kills it (SIGKILL) first.
 *
 *   mem_hog [-m MAX_MIB]
 * Prints "allocated N MiB" per step. Reaching MAX (default 512) means no
 * limit stopped it: "ESCAPED: ...", exit 1. */
#include <sys/mman.h>

#include "ct_prog.h"

int main(int argc, char **argv)
{
    int max = 512, opt;
    while ((opt = getopt(argc, argv, "m:")) != -1) {
        if (opt == 'm')
            max = atoi(optarg);
        else {
            fprintf(stderr, "usage: %s [-m MAX_MIB]\n", argv[0]);
            return 2;
        }
    }
    say("TRY: allocating and touching up to %d MiB", max);
    for (int mib = 1; mib <= max; mib++) {
        char *p = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) {
            say("SAFE: mmap failed at %d MiB: %s", mib, strerror(errno));
            return 0;
        }
        memset(p, mib & 0xff, 1 << 20);
        say("allocated %d MiB", mib);
    }
    say("ESCAPED: allocated %d MiB without being stopped", max);
    return 1;
}
