/* CVE-2024-21626 ("Leaky Vessels"): a runtime leaks a file descriptor
 * opened on the host (runc leaked /sys/fs/cgroup as fd 7 into the
 * container's process), and either the process fchdir()s to it or the
 * config sets process.cwd = "/proc/self/fd/7", so the process starts with a
 * working directory outside its root and walks ".." up to the host's /.
 *
 *   cve_2024_21626 [-p PRESERVED] HOST_MARKER
 * HOST_MARKER is the absolute host path of a file that exists only on the
 * host. Checks: the cwd we were started in, and every open fd: no fd but
 * 0, 1, 2 and the PRESERVED ones after them (--preserve-fds) may be open,
 * and from no directory (cwd or fd) may walking ".." reach HOST_MARKER.
 * Exit 0 when nothing leaked, 1 with "ESCAPED: ..." lines otherwise. */
#include <dirent.h>
#include <sys/stat.h>

#include "ct_prog.h"

static const char *marker_rel; /* HOST_MARKER without its leading '/' */

/* From the cwd, climb up to 64 levels looking for the marker. Returns the
 * level it was found at, or -1. */
static int climb_to_marker(void)
{
    for (int level = 0; level < 64; level++) {
        if (faccessat(AT_FDCWD, marker_rel, F_OK, 0) == 0)
            return level;
        if (chdir("..") != 0)
            return -1;
    }
    return -1;
}

int main(int argc, char **argv)
{
    int preserved = 0, opt;
    while ((opt = getopt(argc, argv, "p:")) != -1) {
        if (opt == 'p')
            preserved = atoi(optarg);
        else
            goto usage;
    }
    if (optind + 1 != argc || argv[optind][0] != '/') {
usage:
        fprintf(stderr, "usage: %s [-p PRESERVED] /HOST/MARKER\n", argv[0]);
        return 2;
    }
    const char *marker = argv[optind];
    marker_rel = marker + 1;
    int escaped = 0;

    if (access(marker, F_OK) == 0) {
        say("ESCAPED: the host marker %s is visible at its host path", marker);
        escaped = 1;
    }

    /* 1. The cwd we were started in (process.cwd). */
    char cwd[4096];
    if (!getcwd(cwd, sizeof cwd))
        snprintf(cwd, sizeof cwd, "(getcwd: %s)", strerror(errno));
    say("TRY: start cwd %s: climbing \"..\" looking for %s", cwd, marker);
    int cwdfd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
    int level = climb_to_marker();
    if (level >= 0) {
        say("ESCAPED: from the start cwd %s, %d levels up reach the host marker %s", cwd, level, marker);
        escaped = 1;
    }

    /* 2. Every fd. Collect first: fchdir and friends must not disturb the listing. */
    int fds[256], nfds = 0;
    DIR *d = opendir("/proc/self/fd");
    if (!d) {
        say("ESCAPED?: cannot list /proc/self/fd: %s", strerror(errno));
        return 1;
    }
    struct dirent *e;
    while ((e = readdir(d)) != NULL && nfds < 256) {
        if (e->d_name[0] == '.')
            continue;
        int fd = atoi(e->d_name);
        if (fd == dirfd(d) || fd == cwdfd)
            continue;
        fds[nfds++] = fd;
    }
    closedir(d);

    for (int i = 0; i < nfds; i++) {
        int fd = fds[i];
        char path[64], target[4096];
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
        ssize_t n = readlink(path, target, sizeof target - 1);
        target[n > 0 ? n : 0] = 0;
        int allowed = fd <= 2 || fd < 3 + preserved;
        say("TRY: fd %d -> %s%s", fd, target, allowed ? "" : " (not 0-2 or preserved)");
        if (!allowed) {
            say("ESCAPED: leaked fd %d -> %s", fd, target);
            escaped = 1;
        }
        struct stat st;
        if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode) && fchdir(fd) == 0) {
            level = climb_to_marker();
            if (level >= 0) {
                say("ESCAPED: from fd %d (%s), %d levels up reach the host marker %s", fd, target,
                    level, marker);
                escaped = 1;
            }
        }
    }
    if (!escaped)
        say("SAFE: %d fds checked, no leaked fd, no way to the host marker", nfds);
    return escaped;
}
