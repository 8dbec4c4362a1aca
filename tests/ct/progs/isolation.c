/* What a container must not see of its host: other processes, the host's
 * mounts, network interfaces and hostname.
 *
 *   isolation [-h HOSTNAME] [-k HOST_TOKEN] [-p HOST_MOUNT]... [-n MAX_PROCS]
 * Checks: /proc lists at most MAX_PROCS processes (default 4), pid 1 among
 * them; no process's command line contains HOST_TOKEN (a host process the
 * test started with that argument); no mount point in
 * /proc/self/mountinfo is HOST_MOUNT or below it; /proc/net/dev and
 * /sys/class/net list only "lo"; the hostname is HOSTNAME.
 * Exit 0 when all hold, 1 with "ESCAPED: ..." lines otherwise. */
#include <dirent.h>
#include <sys/utsname.h>

#include "ct_prog.h"

static int check_procs(int max_procs, const char *token)
{
    int bad = 0, n = 0, have_init = 0;
    DIR *d = opendir("/proc");
    if (!d) {
        say("ESCAPED?: opendir(/proc): %s", strerror(errno));
        return 1;
    }
    struct dirent *e;
    char list[512] = "";
    size_t used = 0;
    while ((e = readdir(d)) != NULL) {
        char *end;
        long pid = strtol(e->d_name, &end, 10);
        if (*end || pid <= 0)
            continue;
        n++;
        have_init |= pid == 1;
        char path[64], cmd[4096];
        snprintf(path, sizeof path, "/proc/%ld/cmdline", pid);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        ssize_t len = fd >= 0 ? read(fd, cmd, sizeof cmd - 1) : -1;
        if (fd >= 0)
            close(fd);
        len = len < 0 ? 0 : len;
        for (ssize_t i = 0; i < len; i++)
            if (!cmd[i])
                cmd[i] = ' ';
        cmd[len] = 0;
        if (used < sizeof list - 1)
            used += (size_t)snprintf(list + used, sizeof list - used, " %ld:%.40s", pid, cmd);
        if (token && pid != (long)getpid() && strstr(cmd, token)) { /* ours has it as an argument */
            say("ESCAPED: host process %ld (%s) is visible", pid, cmd);
            bad = 1;
        }
    }
    closedir(d);
    say("TRY: /proc lists %d processes:%s", n, list);
    if (!have_init) {
        say("ESCAPED: no pid 1 in /proc: not a new pid namespace");
        bad = 1;
    }
    if (n > max_procs) {
        say("ESCAPED: %d processes visible (> %d)", n, max_procs);
        bad = 1;
    }
    return bad;
}

static int check_mounts(char **host_mounts, int nhost)
{
    FILE *f = fopen("/proc/self/mountinfo", "re");
    if (!f) {
        say("ESCAPED?: /proc/self/mountinfo: %s", strerror(errno));
        return 1;
    }
    int bad = 0, n = 0;
    char line[4096];
    while (fgets(line, sizeof line, f)) {
        char root[1024], mnt[1024];
        if (sscanf(line, "%*s %*s %*s %1023s %1023s", root, mnt) != 2)
            continue;
        n++;
        for (int i = 0; i < nhost; i++) {
            size_t l = strlen(host_mounts[i]);
            if (!strncmp(mnt, host_mounts[i], l) && (mnt[l] == 0 || mnt[l] == '/')) {
                say("ESCAPED: host mount %s visible: %s", host_mounts[i], line);
                bad = 1;
            }
        }
    }
    fclose(f);
    say("TRY: %d mounts in /proc/self/mountinfo, none of %d host-only ones expected", n, nhost);
    return bad;
}

static int check_netdevs(void)
{
    int bad = 0, n = 0;
    FILE *f = fopen("/proc/net/dev", "re");
    if (f) {
        char line[512];
        while (fgets(line, sizeof line, f)) {
            char *colon = strchr(line, ':');
            if (!colon)
                continue; /* the two header lines */
            *colon = 0;
            char *name = line + strspn(line, " ");
            n++;
            if (strcmp(name, "lo")) {
                say("ESCAPED: interface %s in /proc/net/dev", name);
                bad = 1;
            }
        }
        fclose(f);
        say("TRY: /proc/net/dev lists %d interfaces", n);
    } else {
        say("note: /proc/net/dev: %s", strerror(errno));
    }
    DIR *d = opendir("/sys/class/net");
    if (d) {
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            if (e->d_name[0] == '.' || !strcmp(e->d_name, "lo"))
                continue;
            say("ESCAPED: interface %s in /sys/class/net", e->d_name);
            bad = 1;
        }
        closedir(d);
    }
    return bad;
}

int main(int argc, char **argv)
{
    const char *hostname = NULL, *token = NULL;
    char *host_mounts[16];
    int nhost = 0, max_procs = 4, opt;
    while ((opt = getopt(argc, argv, "h:k:p:n:")) != -1) {
        switch (opt) {
        case 'h': hostname = optarg; break;
        case 'k': token = optarg; break;
        case 'p':
            if (nhost < 16)
                host_mounts[nhost++] = optarg;
            break;
        case 'n': max_procs = atoi(optarg); break;
        default:
            fprintf(stderr, "usage: %s [-h HOSTNAME] [-k TOKEN] [-p HOST_MOUNT]... [-n MAX]\n", argv[0]);
            return 2;
        }
    }
    int bad = check_procs(max_procs, token);
    bad |= check_mounts(host_mounts, nhost);
    bad |= check_netdevs();
    struct utsname u;
    uname(&u);
    if (hostname && strcmp(u.nodename, hostname)) {
        say("ESCAPED: hostname is %s, not the container's %s", u.nodename, hostname);
        bad = 1;
    } else {
        say("TRY: hostname %s", u.nodename);
    }
    if (!bad)
        say("SAFE: only the container's processes, mounts, lo and hostname");
    return bad;
}
