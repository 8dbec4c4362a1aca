/* ct/criu: availability check, argument and image-directory errors, and,
 * where CRIU works on the running kernel, a checkpoint/restore round trip
 * of a counting process in its own pid and mount namespaces. */
#define _GNU_SOURCE
#include "ct/criu.h"
#include "t.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/inotify.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define WAIT_MS 10000

static struct disco_err avail_err;
static int avail_rc;

static void criu_available_reports(void)
{
    struct disco_err err = {0};
    int r = ct_criu_available(&err);
    avail_rc = r;
    avail_err = err;
    if (r == 0)
        return;
    CHECK(r == -ENOTSUP || r == -ENOENT);
    if (r == -ENOENT)
        CHECK(strstr(err.msg, "criu is not installed") != NULL);
    else
        CHECK(strstr(err.msg, "criu check") != NULL);
    CHECK(err.code == r);
}

static void rmtree(const char *dir)
{
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *de;
        while ((de = readdir(d))) {
            if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
                continue;
            char p[512];
            snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
            struct stat st;
            if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
                rmtree(p);
            else
                unlink(p);
        }
        closedir(d);
    }
    rmdir(dir);
}

static void criu_restore_missing_images(void)
{
    struct disco_err err = {0};
    struct ct_spec spec = {.root_path = "/"};
    pid_t pid = 1234;
    int r = ct_criu_restore(&spec, "/nonexistent/disco-test-criu", NULL, NULL, &pid, &err);
    CHECK_EQ(r, -ENOENT);
    CHECK(strstr(err.msg, "/nonexistent/disco-test-criu") != NULL);
    CHECK_EQ(pid, 0);
    /* A directory that holds no checkpoint. */
    char dir[] = "/tmp/disco-test-criu.XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    r = ct_criu_restore(&spec, dir, NULL, NULL, &pid, &err);
    CHECK_EQ(r, -ENOENT);
    CHECK(strstr(err.msg, "inventory.img") != NULL);
    rmdir(dir);
    CHECK_EQ(ct_criu_restore(NULL, dir, NULL, NULL, &pid, &err), -EINVAL);
    CHECK_EQ(ct_criu_restore(&spec, NULL, NULL, NULL, &pid, &err), -EINVAL);
    CHECK_EQ(ct_criu_restore(&spec, dir, NULL, NULL, NULL, &err), -EINVAL);
}

static void criu_checkpoint_bad_args(void)
{
    struct disco_err err = {0};
    struct ct_spec spec = {.root_path = "/"};
    CHECK_EQ(ct_criu_checkpoint(0, &spec, "/tmp/x", false, &err), -EINVAL);
    CHECK_EQ(ct_criu_checkpoint(getpid(), NULL, "/tmp/x", false, &err), -EINVAL);
    CHECK_EQ(ct_criu_checkpoint(getpid(), &spec, "", false, &err), -EINVAL);
    /* pid_max is at most 2^22. */
    CHECK(ct_criu_checkpoint(1 << 23, &spec, "/tmp/x", false, &err) < 0);
    CHECK(strstr(err.msg, "no process") != NULL);
}

/* Without a working CRIU, a checkpoint says so (the same reason as
 * ct_criu_available) instead of half-running. */
static void criu_checkpoint_unavailable(void)
{
    char dir[] = "/tmp/disco-test-criu.XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char img[600];
    snprintf(img, sizeof img, "%s/img", dir);
    struct disco_err err = {0};
    struct ct_spec spec = {.root_path = "/"};
    int r = ct_criu_checkpoint(getpid(), &spec, img, true, &err);
    CHECK_EQ(r, avail_rc);
    CHECK(strstr(err.msg, avail_rc == -ENOENT ? "not installed" : "criu check") != NULL);
    struct stat st;
    CHECK(stat(img, &st) == 0 && S_ISDIR(st.st_mode));     /* created */
    rmtree(dir);
}

/* ---- the command lines, through a stand-in criu ------------------------ */

/* A shell script named criu first in PATH: `check` passes, `dump` fails
 * with a log, `restore` writes a pid file; each records its arguments (and
 * what fd 3 is) so the test sees what ct_criu_* asked for. */
static const char fake_criu[] =
    "#!/bin/sh\n"
    "echo \"$*\" >> \"$FAKE_CRIU_ARGS\"\n"
    "cmd=$1; shift\n"
    "dir=; pidfile=\n"
    "while [ $# -gt 0 ]; do\n"
    "  case $1 in -D) dir=$2; shift;; --pidfile) pidfile=$2; shift;; esac; shift\n"
    "done\n"
    "case $cmd in\n"
    "check) echo 'Looks good.'; exit 0;;\n"
    "dump) printf 'Info (a.c:1): noise\\nError (criu/fake.c:7): fake dump failure\\n"
    "Info (a.c:2): after\\n' > \"$dir/dump.log\"; echo 'see log' >&2; exit 1;;\n"
    "restore) echo \"fd3=$(readlink /proc/$$/fd/3)\" >> \"$FAKE_CRIU_ARGS\"\n"
    "  echo 4242 > \"$pidfile\"; exit 0;;\n"
    "esac\n"
    "exit 2\n";

static const char *slurp(const char *path, char *buf, size_t size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n = fd >= 0 ? read(fd, buf, size - 1) : -1;
    if (fd >= 0)
        close(fd);
    buf[n > 0 ? n : 0] = '\0';
    return buf;
}

static void criu_command_lines(void)
{
    char dir[] = "/tmp/disco-test-criu.XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char bin[600], script[700], args[600], img[600], root[600], inv[700];
    snprintf(bin, sizeof bin, "%s/bin", dir);
    snprintf(script, sizeof script, "%s/criu", bin);
    snprintf(args, sizeof args, "%s/args", dir);
    snprintf(img, sizeof img, "%s/img", dir);
    snprintf(root, sizeof root, "%s/root", dir);
    CHECK(mkdir(bin, 0755) == 0 && mkdir(root, 0755) == 0);
    int fd = open(script, O_WRONLY | O_CREAT | O_CLOEXEC, 0755);
    CHECK(fd >= 0 && write(fd, fake_criu, sizeof fake_criu - 1) == (ssize_t)sizeof fake_criu - 1);
    if (fd >= 0)
        close(fd);
    const char *old_path = getenv("PATH");
    char *saved = strdup(old_path ? old_path : "/usr/bin:/bin");
    char path[4096];
    snprintf(path, sizeof path, "%s:%s", bin, saved);
    setenv("PATH", path, 1);
    /* ct/criu prefers $DISCO_CRIU and the cached build to $PATH. */
    setenv("DISCO_CRIU", script, 1);
    setenv("FAKE_CRIU_ARGS", args, 1);

    char *masked[] = {"/proc/version"};
    struct ct_mount mounts[] = {
        {.destination = "/data", .source = "/srv/data", .bind = true},
        {.destination = "/proc", .type = "proc", .source = "proc"},
    };
    struct ct_spec spec = {.root_path = root, .mounts = mounts, .nmounts = 2,
                           .masked_paths = masked, .nmasked = 1};
    spec.ns[CT_NS_NET].enabled = true;
    spec.ns[CT_NS_NET].path = "/proc/self/ns/net";
    struct stat netst;
    CHECK(stat("/proc/self/ns/net", &netst) == 0);

    char argbuf[8192];
    struct disco_err err = {0};
    CHECK_EQ(ct_criu_available(&err), 0);
    /* A failing dump: the error carries the log's error line. */
    int r = ct_criu_checkpoint(getpid(), &spec, img, true, &err);
    CHECK_EQ(r, -EIO);
    CHECK(strstr(err.msg, "fake dump failure") != NULL);
    CHECK(strstr(err.msg, "exit status 1") != NULL);
    const char *a = slurp(args, argbuf, sizeof argbuf);
    char want[1600];
    snprintf(want, sizeof want, "dump -t %d -D %s -o dump.log -v4 --root %s --manage-cgroups "
             "--tcp-established --file-locks --ext-unix-sk --leave-running", (int)getpid(), img,
             root);
    CHECK(strstr(a, want) != NULL);
    CHECK(strstr(a, "--external mnt[/data]:/data") != NULL);
    CHECK(strstr(a, "mnt[/proc]") == NULL);             /* not a bind mount */
    CHECK(strstr(a, "--external mnt[/proc/version]:/proc/version") != NULL);
    snprintf(want, sizeof want, "--external net[%lu]:extRootNetNS", (unsigned long)netst.st_ino);
    CHECK(strstr(a, want) != NULL);

    /* A restore: the pid comes from the pid file; the root is a temporary
     * bind mount, gone afterwards; the joined netns is passed as fd 3. */
    snprintf(inv, sizeof inv, "%s/inventory.img", img);
    fd = open(inv, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    CHECK(fd >= 0);
    if (fd >= 0)
        close(fd);
    unlink(args);
    pid_t pid = 0;
    r = ct_criu_restore(&spec, img, "disco/x", NULL, &pid, &err);
    if (r)
        printf("  (%s)\n", err.msg);
    CHECK_EQ(r, 0);
    CHECK_EQ(pid, 4242);
    a = slurp(args, argbuf, sizeof argbuf);
    CHECK(strstr(a, "restore -D ") != NULL);
    CHECK(strstr(a, "--root /tmp/disco-criu-root.") != NULL);
    CHECK(strstr(a, "--restore-detached --pidfile ") != NULL);
    /* v1: one root per hierarchy containers use (and none for others). */
    FILE *cgf = fopen("/proc/self/cgroup", "re");
    char cgl[4096] = "";
    size_t cgn = cgf ? fread(cgl, 1, sizeof cgl - 1, cgf) : 0;
    cgl[cgn] = '\0';
    if (cgf)
        fclose(cgf);
    if (strstr(cgl, ":memory:")) {
        CHECK(strstr(a, "--cgroup-root memory:/disco/x") != NULL);
        CHECK(strstr(a, "--cgroup-root pids:/disco/x") != NULL || !strstr(cgl, ":pids:"));
        CHECK(strstr(a, "--cgroup-root /disco/x") == NULL);
        CHECK(strstr(a, "net_cls") == NULL && strstr(a, "perf_event") == NULL);
    } else {
        CHECK(strstr(a, "--cgroup-root /disco/x") != NULL);
    }
    CHECK(strstr(a, "--external mnt[/data]:/srv/data") != NULL);
    CHECK(strstr(a, "--external mnt[/proc/version]:/dev/null") != NULL);
    CHECK(strstr(a, "--inherit-fd fd[3]:extRootNetNS") != NULL);
    snprintf(want, sizeof want, "fd3=net:[%lu]", (unsigned long)netst.st_ino);
    CHECK(strstr(a, want) != NULL);
    const char *rootarg = strstr(a, "--root ");
    if (rootarg) {
        char tmproot[64] = {0};
        sscanf(rootarg + 7, "%63s", tmproot);
        CHECK(access(tmproot, F_OK) < 0);               /* unmounted and removed */
    }

    setenv("PATH", saved, 1);
    unsetenv("DISCO_CRIU");
    unsetenv("FAKE_CRIU_ARGS");
    free(saved);
    rmtree(dir);
}

/* ---- round trip (hosts where criu check passes) ------------------------ */

static bool wait_fd(int fd, int ms)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    return poll(&p, 1, ms) == 1;
}

static long long read_counter(const char *path)
{
    char buf[64] = {0};
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
    close(fd);
    return n > 0 ? atoll(buf) : -1;
}

/* The container's init: pid 1 of a new pid namespace, its root a bind
 * mount of root_dir, running a program of that root (a container's
 * processes map only files CRIU can find in its mount namespace): busybox's
 * shell, counting in memory and writing the count to /counter (renamed
 * into place: a dump between truncate and write would leave it empty). At 200 it
 * tells the test through fd 3, then closes every fd (CRIU refuses pipes to
 * the outside). */
static const char counter_script[] =
    "exec 0<&- 1>&- 2>&-; i=0; while :; do i=$((i+1)); echo $i > /counter.new; "
    "mv /counter.new /counter; "
    "if [ $i = 200 ]; then echo -n r >&3; exec 3>&-; fi; usleep 1000; done";

static void counter_init(const char *root_dir, int ready_fd)
{
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
        mount(root_dir, root_dir, NULL, MS_BIND, NULL) < 0 || chdir(root_dir) < 0 ||
        syscall(SYS_pivot_root, ".", "old") < 0 || chdir("/") < 0 ||
        umount2("/old", MNT_DETACH) < 0)
        _exit(10);
    setsid();
    if (dup2(ready_fd, 3) != 3)
        _exit(11);
    syscall(SYS_close_range, 4, ~0u, 0);
    execl("/bin/busybox", "sh", "-c", counter_script, (char *)NULL);
    _exit(12);
}

static bool copy_file(const char *from, const char *to, mode_t mode)
{
    int in = open(from, O_RDONLY | O_CLOEXEC);
    int out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    bool ok = in >= 0 && out >= 0;
    char buf[65536];
    ssize_t n = 0;
    while (ok && (n = read(in, buf, sizeof buf)) > 0)
        ok = write(out, buf, (size_t)n) == n;
    ok = ok && n == 0;
    if (in >= 0)
        close(in);
    if (out >= 0)
        close(out);
    return ok;
}

static bool wait_exit(pid_t pid, int ms)
{
    int pfd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (pfd < 0)
        return waitpid(pid, NULL, WNOHANG) == pid;
    bool done = wait_fd(pfd, ms);
    close(pfd);
    if (done)
        waitpid(pid, NULL, 0);
    return done;
}

static void criu_round_trip(void)
{
    char dir[] = "/tmp/disco-test-criu.XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char root[600], img[600], counter[700];
    snprintf(root, sizeof root, "%s/root", dir);
    snprintf(img, sizeof img, "%s/img", dir);
    snprintf(counter, sizeof counter, "%s/counter", root);
    char old[700];
    snprintf(old, sizeof old, "%s/old", root);
    CHECK(mkdir(root, 0755) == 0 && mkdir(old, 0755) == 0);
    char bindir[700], bb[720];
    snprintf(bindir, sizeof bindir, "%s/bin", root);
    snprintf(bb, sizeof bb, "%s/busybox", bindir);
    CHECK(mkdir(bindir, 0755) == 0 && copy_file("/bin/busybox", bb, 0755));
    /* The restored init is re-parented to us when criu exits. */
    prctl(PR_SET_CHILD_SUBREAPER, 1);

    int p[2];
    CHECK(pipe2(p, O_CLOEXEC) == 0);
    fflush(stdout);
    pid_t outer = fork();
    if (outer == 0) {
        close(p[0]);
        if (unshare(CLONE_NEWPID | CLONE_NEWNS) < 0)
            _exit(20);
        pid_t init = fork();
        if (init == 0)
            counter_init(root, p[1]);
        if (init < 0 || write(p[1], &init, sizeof init) != (ssize_t)sizeof init)
            _exit(21);
        close(p[1]);
        waitpid(init, NULL, 0);
        _exit(0);
    }
    close(p[1]);
    pid_t init = 0;
    char ready = 0;
    CHECK(wait_fd(p[0], WAIT_MS) && read(p[0], &init, sizeof init) == (ssize_t)sizeof init);
    CHECK(wait_fd(p[0], WAIT_MS) && read(p[0], &ready, 1) == 1 && ready == 'r');
    close(p[0]);
    pid_t restored = 0;
    if (init <= 0 || ready != 'r')
        goto out;

    struct ct_spec spec = {.root_path = root};
    struct disco_err err = {0};
    int r = ct_criu_checkpoint(init, &spec, img, false, &err);
    CHECK_EQ(r, 0);
    if (r) {
        printf("  (%s)\n", err.msg);
        goto out;
    }
    /* Dumped without --leave-running: the tree is gone, its count frozen. */
    CHECK(wait_exit(outer, WAIT_MS));
    outer = 0;
    long long at_dump = read_counter(counter);
    CHECK(at_dump >= 200);

    int in = inotify_init1(IN_CLOEXEC);
    /* The directory: each count is renamed into place. */
    CHECK(in >= 0 && inotify_add_watch(in, root, IN_MOVED_TO | IN_MODIFY) >= 0);
    r = ct_criu_restore(&spec, img, NULL, NULL, &restored, &err);
    CHECK_EQ(r, 0);
    if (r) {
        printf("  (%s)\n", err.msg);
        close(in);
        goto out;
    }
    CHECK(restored > 0 && kill(restored, 0) == 0);
    /* It goes on from its own count, not from 1. */
    long long now = -1;
    for (int i = 0; i < 50 && now <= at_dump; i++) {
        if (!wait_fd(in, WAIT_MS))
            break;
        char ev[4096];
        if (read(in, ev, sizeof ev) <= 0)
            break;
        now = read_counter(counter);
    }
    CHECK(now > at_dump);
    close(in);
out:
    if (restored > 0) {
        kill(restored, SIGKILL);
        wait_exit(restored, WAIT_MS);
    }
    if (outer > 0) {
        /* Still running (no dump happened): its init is our pid to kill,
         * outer reaps it and ends. */
        if (init > 0)
            kill(init, SIGKILL);
        if (!wait_exit(outer, WAIT_MS)) {
            kill(outer, SIGKILL);
            wait_exit(outer, WAIT_MS);
        }
    }
    prctl(PR_SET_CHILD_SUBREAPER, 0);
    rmtree(dir);
}

int main(void)
{
    RUN(criu_available_reports);
    RUN(criu_restore_missing_images);
    RUN(criu_checkpoint_bad_args);
    if (geteuid() == 0)     /* the restore bind-mounts the root */
        RUN(criu_command_lines);
    else
        SKIP(criu_command_lines, "needs root");
    if (avail_rc != 0) {
        RUN(criu_checkpoint_unavailable);
        char why[600];
        snprintf(why, sizeof why, "CRIU cannot run here: %s", avail_err.msg);
        SKIP(criu_round_trip, why);
    } else if (geteuid() != 0) {
        SKIP(criu_round_trip, "needs root");
    } else {
        RUN(criu_round_trip);
    }
    T_EXIT();
}
