/* The host kernel's global knobs and secrets reachable through /proc and
 * /sys: a runtime must mask them (bind /dev/null or an empty tmpfs over) or
 * make them read-only. Tries to write /proc/sysrq-trigger ("h": only prints
 * the sysrq help), /proc/sys/kernel/hostname (its own value) and
 * /proc/sys/vm/drop_caches ("1": drops clean caches),
 * and to read /proc/kcore, /proc/keys, /proc/timer_list, /proc/sched_debug
 * and list /sys/firmware. Every attempt must fail or read nothing.
 *
 *   masked_proc
 * Exit 0 when all failed, 1 with "ESCAPED: ..." lines otherwise. */
#include <dirent.h>
#include <sys/stat.h>
#include <sys/vfs.h>

#include "ct_prog.h"

#ifndef PROC_SUPER_MAGIC
#define PROC_SUPER_MAGIC 0x9fa0
#endif

static int try_write(const char *path, const char *data)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) {
        say("SAFE: open(%s, O_WRONLY): %s", path, strerror(errno));
        return 0;
    }
    /* /dev/null bound over the file accepts writes harmlessly. */
    struct statfs sfs;
    if (fstatfs(fd, &sfs) == 0 && sfs.f_type != PROC_SUPER_MAGIC) {
        say("SAFE: %s is masked (not procfs, fs type 0x%lx)", path, (unsigned long)sfs.f_type);
        close(fd);
        return 0;
    }
    ssize_t n = write(fd, data, strlen(data));
    int err = errno;
    close(fd);
    if (n < 0) {
        say("SAFE: write(%s): %s", path, strerror(err));
        return 0;
    }
    say("ESCAPED: wrote \"%s\" to %s", data, path);
    return 1;
}

static int try_read(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        say("SAFE: open(%s): %s", path, strerror(errno));
        return 0;
    }
    char buf[4096];
    ssize_t n = read(fd, buf, sizeof buf);
    int err = errno;
    close(fd);
    if (n <= 0) {
        say("SAFE: read(%s): %s", path, n == 0 ? "nothing (masked)" : strerror(err));
        return 0;
    }
    say("ESCAPED: read %zd bytes of %s", n, path);
    return 1;
}

static int try_list(const char *path)
{
    DIR *d = opendir(path);
    if (!d) {
        say("SAFE: opendir(%s): %s", path, strerror(errno));
        return 0;
    }
    int n = 0;
    struct dirent *e;
    char first[256] = "";
    while ((e = readdir(d)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        if (!n++)
            snprintf(first, sizeof first, "%s", e->d_name);
    }
    closedir(d);
    if (!n) {
        say("SAFE: %s is empty (masked)", path);
        return 0;
    }
    say("ESCAPED: %s lists %d entries (%s, ...)", path, n, first);
    return 1;
}

int main(void)
{
    int escaped = 0;
    escaped |= try_write("/proc/sysrq-trigger", "h");
    /* Writes back the current value: even when it gets through (to the
     * host's hostname when there is no UTS namespace), nothing changes. */
    char host[256] = "";
    int fd = open("/proc/sys/kernel/hostname", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        ssize_t n = read(fd, host, sizeof host - 1);
        host[n > 0 ? n : 0] = 0;
        host[strcspn(host, "\n")] = 0;
        close(fd);
    }
    escaped |= try_write("/proc/sys/kernel/hostname", host[0] ? host : "localhost");
    escaped |= try_write("/proc/sys/vm/drop_caches", "1");
    escaped |= try_read("/proc/kcore");
    escaped |= try_read("/proc/keys");
    escaped |= try_read("/proc/timer_list");
    escaped |= try_read("/proc/sched_debug");
    escaped |= try_list("/sys/firmware");
    if (!escaped)
        say("SAFE: every masked or read-only path refused");
    return escaped;
}
