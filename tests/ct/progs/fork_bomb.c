/* A fork bomb, bounded: fork children that just wait, until fork fails or
 * the wall time runs out, then kill them all. With a pids limit the count
 * stays below it.
 *
 *   fork_bomb [-t SECONDS] [-m LIMIT]
 * Prints how many forks succeeded. Exit 0 when fork failed before LIMIT
 * children (default 64), 1 with "ESCAPED: ..." otherwise. Never forks more
 * than 2048 children (so an unlimited run cannot hurt the machine). */
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>

#include "ct_prog.h"

#define HARD_CAP 2048

int main(int argc, char **argv)
{
    double seconds = 3;
    int limit = 64, opt;
    while ((opt = getopt(argc, argv, "t:m:")) != -1) {
        if (opt == 't')
            seconds = atof(optarg);
        else if (opt == 'm')
            limit = atoi(optarg);
        else {
            fprintf(stderr, "usage: %s [-t SECONDS] [-m LIMIT]\n", argv[0]);
            return 2;
        }
    }
    static pid_t kids[HARD_CAP];
    int n = 0, err = 0;
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pid_t parent = getpid();
    say("TRY: forking until fork fails (limit under test %d, at most %.0fs, cap %d)", limit, seconds,
        HARD_CAP);
    while (n < HARD_CAP) {
        clock_gettime(CLOCK_MONOTONIC, &t);
        if ((double)(t.tv_sec - t0.tv_sec) + (double)(t.tv_nsec - t0.tv_nsec) / 1e9 > seconds)
            break;
        pid_t pid = fork();
        if (pid < 0) {
            err = errno;
            break;
        }
        if (pid == 0) {
            prctl(PR_SET_PDEATHSIG, SIGKILL);
            if (getppid() != parent)
                _exit(0);
            for (;;)
                pause();
        }
        kids[n++] = pid;
    }
    for (int i = 0; i < n; i++)
        kill(kids[i], SIGKILL);
    for (int i = 0; i < n; i++)
        waitpid(kids[i], NULL, 0);
    say("forked %d children; fork then %s", n, err ? strerror(err) : "not failing (stopped)");
    if (err && n < limit) {
        say("SAFE: fork failed after %d children (< %d)", n, limit);
        return 0;
    }
    say("ESCAPED: %d children without hitting a limit below %d", n, limit);
    return 1;
}
