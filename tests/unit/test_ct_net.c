/* ct/net: veth + bridge networking and moving links into a container's
 * network namespace, against real namespaces (root only). A "namespace
 * holder" child sits in a fresh network namespace and answers small
 * requests (connect, interface flags, route lookup) over a socketpair, so
 * the test observes the namespace from inside without sleeping. */
#define _GNU_SOURCE
#include "ct/net.h"
#include "t.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define REPLY_TIMEOUT_MS 10000

/* ---- the namespace holder --------------------------------------------- */

struct holder_req {
    char op;                    /* 'c' connect, 'f' flags, 'r' route source, 'q' quit */
    char ifname[IFNAMSIZ];
    struct in_addr ip;
    uint16_t port;
};

struct holder_reply {
    int err;                    /* errno, 0: fine */
    int flags;                  /* 'f': interface flags */
    struct in_addr src;         /* 'r': source address chosen */
};

struct holder {
    pid_t pid;
    int sock;
};

static int holder_connect(const struct holder_req *q)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return errno;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr = q->ip, .sin_port = htons(q->port)};
    int e = 0;
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        e = errno;
        if (e == EINPROGRESS) {
            struct pollfd p = {.fd = fd, .events = POLLOUT};
            int n = poll(&p, 1, 5000);
            socklen_t len = sizeof e;
            if (n <= 0)
                e = ETIMEDOUT;
            else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &len) < 0)
                e = errno;
        }
    }
    close(fd);
    return e;
}

static void holder_main(int sock)
{
    if (unshare(CLONE_NEWNET) < 0)
        _exit(1);
    char ready = 'r';
    if (write(sock, &ready, 1) != 1)
        _exit(1);
    struct holder_req q;
    while (read(sock, &q, sizeof q) == (ssize_t)sizeof q && q.op != 'q') {
        struct holder_reply rep = {0};
        q.ifname[IFNAMSIZ - 1] = '\0';
        if (q.op == 'c') {
            rep.err = holder_connect(&q);
        } else if (q.op == 'f') {
            int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
            struct ifreq ifr = {0};
            memcpy(ifr.ifr_name, q.ifname, IFNAMSIZ);
            if (fd < 0 || ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
                rep.err = errno;
            else
                rep.flags = ifr.ifr_flags;
            if (fd >= 0)
                close(fd);
        } else if (q.op == 'r') {
            /* A UDP connect only consults the routing table: it fails with
             * ENETUNREACH when there is no route to ip. */
            int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
            struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr = q.ip, .sin_port = htons(9)};
            struct sockaddr_in me;
            socklen_t len = sizeof me;
            if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0 ||
                getsockname(fd, (struct sockaddr *)&me, &len) < 0)
                rep.err = errno;
            else
                rep.src = me.sin_addr;
            if (fd >= 0)
                close(fd);
        }
        if (write(sock, &rep, sizeof rep) != (ssize_t)sizeof rep)
            _exit(1);
    }
    _exit(0);
}

static bool wait_readable(int fd, int timeout_ms)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    return poll(&p, 1, timeout_ms) == 1;
}

static int holder_start(struct holder *h)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
        return -1;
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        close(sv[0]);
        holder_main(sv[1]);
    }
    close(sv[1]);
    h->pid = pid;
    h->sock = sv[0];
    char c;
    if (!wait_readable(h->sock, REPLY_TIMEOUT_MS) || read(h->sock, &c, 1) != 1 || c != 'r')
        return -1;
    return 0;
}

static void holder_stop(struct holder *h)
{
    if (h->pid <= 0)
        return;
    struct holder_req q = {.op = 'q'};
    if (write(h->sock, &q, sizeof q) != (ssize_t)sizeof q)
        kill(h->pid, SIGKILL);
    close(h->sock);
    /* The holder exits on 'q' or on EOF; bound the wait anyway. */
    int pfd = (int)syscall(SYS_pidfd_open, h->pid, 0);
    if (pfd >= 0) {
        if (!wait_readable(pfd, REPLY_TIMEOUT_MS))
            kill(h->pid, SIGKILL);
        close(pfd);
    }
    waitpid(h->pid, NULL, 0);
    h->pid = 0;
}

static int holder_ask(struct holder *h, const struct holder_req *q, struct holder_reply *rep)
{
    if (write(h->sock, q, sizeof *q) != (ssize_t)sizeof *q)
        return -1;
    if (!wait_readable(h->sock, REPLY_TIMEOUT_MS) ||
        read(h->sock, rep, sizeof *rep) != (ssize_t)sizeof *rep)
        return -1;
    return 0;
}

static int holder_flags(struct holder *h, const char *ifname)
{
    struct holder_req q = {.op = 'f'};
    snprintf(q.ifname, sizeof q.ifname, "%s", ifname);
    struct holder_reply rep;
    if (holder_ask(h, &q, &rep) < 0 || rep.err)
        return -1;
    return rep.flags;
}

/* ---- host-side helpers ------------------------------------------------- */

static bool link_exists(const char *name)
{
    return if_nametoindex(name) != 0;
}

static bool has_line(const char *list, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = list; p && *p;) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        if (len == n && !memcmp(p, name, n))
            return true;
        p = nl ? nl + 1 : p + len;
    }
    return false;
}

/* Create a link of `kind` on the host (peer: the other end for "veth").
 * Returns 0 or -errno. */
static int make_link(const char *name, const char *kind, const char *peer)
{
    char *buf = malloc(MNL_SOCKET_BUFFER_SIZE);
    struct mnl_socket *nl = mnl_socket_open(NETLINK_ROUTE);
    int r = -EIO;
    if (!buf || !nl || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0)
        goto out;
    struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
    nlh->nlmsg_type = RTM_NEWLINK;
    nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL;
    nlh->nlmsg_seq = 1;
    struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof *ifi);
    ifi->ifi_family = AF_UNSPEC;
    mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
    struct nlattr *li = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
    mnl_attr_put_strz(nlh, IFLA_INFO_KIND, kind);
    if (peer) {
        struct nlattr *d = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
        struct nlattr *p = mnl_attr_nest_start(nlh, VETH_INFO_PEER);
        struct ifinfomsg *pi = mnl_nlmsg_get_payload_tail(nlh);
        memset(pi, 0, sizeof *pi);
        nlh->nlmsg_len += MNL_ALIGN(sizeof *pi);
        mnl_attr_put_strz(nlh, IFLA_IFNAME, peer);
        mnl_attr_nest_end(nlh, p);
        mnl_attr_nest_end(nlh, d);
    }
    mnl_attr_nest_end(nlh, li);
    if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
        goto out;
    if (!wait_readable(mnl_socket_get_fd(nl), REPLY_TIMEOUT_MS))
        goto out;
    ssize_t n = mnl_socket_recvfrom(nl, buf, MNL_SOCKET_BUFFER_SIZE);
    if (n < 0)
        goto out;
    r = mnl_cb_run(buf, (size_t)n, 1, mnl_socket_get_portid(nl), NULL, NULL) < 0 ? -errno : 0;
out:
    if (nl)
        mnl_socket_close(nl);
    free(buf);
    return r;
}

/* ---- fixture ----------------------------------------------------------- */

struct fx {
    char bridge[IFNAMSIZ], host_if[IFNAMSIZ], moved[IFNAMSIZ], moved_peer[IFNAMSIZ];
    char bridge_addr[32], addr[32], gw[32], other_net[32];
    struct holder h;
    bool ready;
};
static struct fx fx;

static void fx_cleanup(void)
{
    holder_stop(&fx.h);
    /* Whatever a failed case may have left on the host. */
    ct_net_veth_teardown(fx.host_if, NULL);
    ct_net_veth_teardown(fx.moved, NULL);
    ct_net_veth_teardown(fx.moved_peer, NULL);
    ct_net_veth_teardown(fx.bridge, NULL);
}

/* ---- cases ------------------------------------------------------------- */

static void net_rejects_bad_input(void)
{
    struct disco_err err = {0};
    struct ct_veth_opts o = {.bridge = "dtbrx", .host_ifname = "dtvx", .addr = "10.1.2.3/24"};
    struct ct_veth_opts b = o;
    b.host_ifname = "this-name-is-too-long";
    CHECK_EQ(ct_net_veth_setup(1, &b, &err), -EINVAL);
    CHECK(strstr(err.msg, "host interface") != NULL);
    b = o;
    b.bridge = "br/x";
    CHECK_EQ(ct_net_veth_setup(1, &b, &err), -EINVAL);
    CHECK(strstr(err.msg, "bridge") != NULL);
    b = o;
    b.ct_ifname = "eth 0";
    CHECK_EQ(ct_net_veth_setup(1, &b, &err), -EINVAL);
    CHECK(strstr(err.msg, "container interface") != NULL);
    b = o;
    b.bridge = "";
    CHECK_EQ(ct_net_veth_setup(1, &b, &err), -EINVAL);
    b = o;
    b.addr = "10.1.2.300/24";
    CHECK_EQ(ct_net_veth_setup(1, &b, &err), -EINVAL);
    CHECK(strstr(err.msg, "10.1.2.300") != NULL);
    b = o;
    b.addr = "10.1.2.3";                /* no prefix */
    CHECK_EQ(ct_net_veth_setup(1, &b, &err), -EINVAL);
    b = o;
    b.addr = "10.1.2.3/33";
    CHECK_EQ(ct_net_veth_setup(1, &b, &err), -EINVAL);
    b = o;
    b.gateway = "fe80::1";              /* family differs from the address */
    CHECK_EQ(ct_net_veth_setup(1, &b, &err), -EINVAL);
    CHECK_EQ(ct_net_veth_setup(0, &o, &err), -EINVAL);
    CHECK_EQ(ct_net_veth_setup(1, NULL, &err), -EINVAL);
    CHECK_EQ(ct_net_move_link(1, "a:b", NULL, &err), -EINVAL);
    CHECK_EQ(ct_net_veth_teardown("", &err), -EINVAL);
    CHECK(link_exists("dtbrx") == false);     /* validation happens before anything */
}

static void net_dead_pid_is_an_error(void)
{
    struct disco_err err = {0};
    /* pid_max is at most 2^22: this one cannot exist. */
    CHECK(ct_net_lo_up(1 << 23, &err) < 0);
    CHECK(strstr(err.msg, "/proc/") != NULL);
    CHECK(ct_net_list_links(1 << 23, &err) == NULL);
    CHECK_EQ(ct_net_veth_teardown("dtnonexist0", &err), 0);
}

static void net_lo_up(void)
{
    struct holder h2 = {0};
    CHECK_EQ(holder_start(&h2), 0);
    if (h2.pid <= 0)
        return;
    int f = holder_flags(&h2, "lo");
    CHECK(f >= 0 && !(f & IFF_UP));           /* a new namespace's lo is down */
    struct disco_err err = {0};
    CHECK_EQ(ct_net_lo_up(h2.pid, &err), 0);
    f = holder_flags(&h2, "lo");
    CHECK(f >= 0 && (f & IFF_UP));
    holder_stop(&h2);
}

static void net_veth_setup(void)
{
    struct disco_err err = {0};
    struct ct_veth_opts o = {
        .bridge = fx.bridge, .bridge_addr = fx.bridge_addr, .host_ifname = fx.host_if,
        .addr = fx.addr, .gateway = fx.gw,
    };
    int r = ct_net_veth_setup(fx.h.pid, &o, &err);
    CHECK_EQ(r, 0);
    if (r) {
        printf("  (%s)\n", err.msg);
        return;
    }
    fx.ready = true;
    char *links = ct_net_list_links(fx.h.pid, &err);
    CHECK(links != NULL);
    CHECK(has_line(links, "eth0"));
    CHECK(has_line(links, "lo"));
    CHECK(!has_line(links, fx.host_if));
    free(links);

    /* Host end: on the bridge, up, with the bridge's mtu. */
    char path[128], target[256];
    snprintf(path, sizeof path, "/sys/class/net/%s/master", fx.host_if);
    ssize_t n = readlink(path, target, sizeof target - 1);
    CHECK(n > 0);
    if (n > 0) {
        target[n] = '\0';
        const char *base = strrchr(target, '/');
        CHECK(base && !strcmp(base + 1, fx.bridge));
    }
    CHECK(if_nametoindex(fx.host_if) != 0);
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct ifreq ifr = {0};
    snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", fx.host_if);
    CHECK(fd >= 0 && ioctl(fd, SIOCGIFFLAGS, &ifr) == 0 && (ifr.ifr_flags & IFF_UP));
    snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", fx.bridge);
    CHECK(ioctl(fd, SIOCGIFFLAGS, &ifr) == 0 && (ifr.ifr_flags & IFF_UP));
    close(fd);

    /* Inside: eth0 and lo up; a default route via the gateway. */
    int f = holder_flags(&fx.h, "eth0");
    CHECK(f >= 0 && (f & IFF_UP));
    f = holder_flags(&fx.h, "lo");
    CHECK(f >= 0 && (f & IFF_UP));
    struct holder_req q = {.op = 'r'};
    inet_pton(AF_INET, fx.other_net, &q.ip);
    struct holder_reply rep;
    CHECK_EQ(holder_ask(&fx.h, &q, &rep), 0);
    CHECK_EQ(rep.err, 0);
    struct in_addr want;
    char a[32];
    snprintf(a, sizeof a, "%s", fx.addr);
    *strchr(a, '/') = '\0';
    inet_pton(AF_INET, a, &want);
    CHECK_EQ(rep.src.s_addr, want.s_addr);
}

/* The path works: the namespace connects to a listener on the bridge's
 * address (bind() itself proves the bridge got it). */
static void net_veth_connects(void)
{
    if (!fx.ready) {
        CHECK(!"veth setup failed");
        return;
    }
    char a[32];
    snprintf(a, sizeof a, "%s", fx.bridge_addr);
    *strchr(a, '/') = '\0';
    int ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET};
    inet_pton(AF_INET, a, &sa.sin_addr);
    socklen_t len = sizeof sa;
    CHECK(ls >= 0);
    CHECK_EQ(bind(ls, (struct sockaddr *)&sa, sizeof sa), 0);
    CHECK_EQ(listen(ls, 1), 0);
    CHECK_EQ(getsockname(ls, (struct sockaddr *)&sa, &len), 0);
    struct holder_req q = {.op = 'c', .ip = sa.sin_addr, .port = ntohs(sa.sin_port)};
    struct holder_reply rep = {.err = -1};
    CHECK_EQ(holder_ask(&fx.h, &q, &rep), 0);
    CHECK_EQ(rep.err, 0);
    bool pending = rep.err == 0 && wait_readable(ls, REPLY_TIMEOUT_MS);
    CHECK(pending);
    struct sockaddr_in peer;
    len = sizeof peer;
    int c = pending ? accept4(ls, (struct sockaddr *)&peer, &len, SOCK_CLOEXEC) : -1;
    CHECK(c >= 0);
    if (c >= 0) {
        char want[32];
        snprintf(want, sizeof want, "%s", fx.addr);
        *strchr(want, '/') = '\0';
        CHECK(!strcmp(inet_ntoa(peer.sin_addr), want));
        close(c);
    }
    close(ls);
}

static void net_veth_exists_error(void)
{
    if (!fx.ready) {
        CHECK(!"veth setup failed");
        return;
    }
    struct disco_err err = {0};
    struct ct_veth_opts o = {.bridge = fx.bridge, .host_ifname = fx.host_if};
    CHECK_EQ(ct_net_veth_setup(fx.h.pid, &o, &err), -EEXIST);
    char want[64];
    snprintf(want, sizeof want, "cannot create veth %s/eth0: File exists", fx.host_if);
    CHECK(strstr(err.msg, want) != NULL);
    CHECK(link_exists(fx.host_if));             /* the existing one is left alone */
    CHECK(link_exists(fx.bridge));
}

static void net_move_link(void)
{
    struct disco_err err = {0};
    int r = make_link(fx.moved, "dummy", NULL);
    if (r == -EOPNOTSUPP || r == -ENOENT) {
        /* No dummy driver in this kernel: one end of a veth pair is a link
         * like any other. */
        r = make_link(fx.moved, "veth", fx.moved_peer);
    }
    CHECK_EQ(r, 0);
    if (r)
        return;
    CHECK(link_exists(fx.moved));
    CHECK_EQ(ct_net_move_link(fx.h.pid, fx.moved, "dmy0", &err), 0);
    CHECK(!link_exists(fx.moved));
    char *links = ct_net_list_links(fx.h.pid, &err);
    CHECK(links && has_line(links, "dmy0") && !has_line(links, fx.moved));
    free(links);
    int f = holder_flags(&fx.h, "dmy0");
    CHECK(f >= 0 && (f & IFF_UP));
    /* Gone from the host now: a second move names what is missing. */
    CHECK_EQ(ct_net_move_link(fx.h.pid, fx.moved, NULL, &err), -ENODEV);
    CHECK(strstr(err.msg, fx.moved) != NULL);
}

static void net_veth_teardown(void)
{
    struct disco_err err = {0};
    CHECK_EQ(ct_net_veth_teardown(fx.host_if, &err), 0);
    CHECK(!link_exists(fx.host_if));
    char *links = ct_net_list_links(fx.h.pid, &err);
    CHECK(links && !has_line(links, "eth0") && has_line(links, "lo"));
    free(links);
    CHECK_EQ(ct_net_veth_teardown(fx.host_if, &err), 0);      /* already gone */
}

/* A failure inside the namespace (the name is taken there) leaves nothing
 * on the host. */
static void net_setup_failure_cleans_up(void)
{
    struct disco_err err = {0};
    struct ct_veth_opts o = {.bridge = fx.bridge, .host_ifname = fx.host_if,
                             .ct_ifname = "dmy0"};
    int r = ct_net_veth_setup(fx.h.pid, &o, &err);
    CHECK_EQ(r, -EEXIST);
    CHECK(strstr(err.msg, "dmy0") != NULL);
    CHECK(!link_exists(fx.host_if));
    char *links = ct_net_list_links(fx.h.pid, &err);
    CHECK(links && !has_line(links, "eth0"));
    free(links);
}

int main(void)
{
    RUN(net_rejects_bad_input);
    if (geteuid() != 0) {
        SKIP(net_namespaces, "needs root (CAP_NET_ADMIN, CAP_SYS_ADMIN)");
        T_EXIT();
    }
    RUN(net_dead_pid_is_an_error);
    unsigned tag = (unsigned)getpid() % 10000;
    snprintf(fx.bridge, sizeof fx.bridge, "dtbr%u", tag);
    snprintf(fx.host_if, sizeof fx.host_if, "dtv%u", tag);
    snprintf(fx.moved, sizeof fx.moved, "dtm%u", tag);
    snprintf(fx.moved_peer, sizeof fx.moved_peer, "dtp%u", tag);
    /* A subnet per run keeps concurrent runs (build and build-san) apart. */
    unsigned net = 20 + (unsigned)getpid() % 200;
    snprintf(fx.bridge_addr, sizeof fx.bridge_addr, "10.213.%u.1/24", net);
    snprintf(fx.addr, sizeof fx.addr, "10.213.%u.2/24", net);
    snprintf(fx.gw, sizeof fx.gw, "10.213.%u.1", net);
    snprintf(fx.other_net, sizeof fx.other_net, "10.214.%u.9", net);
    if (link_exists(fx.bridge) || link_exists(fx.host_if)) {
        printf("FAIL: net_fixture: %s or %s already exists\n", fx.bridge, fx.host_if);
        return 1;
    }
    if (holder_start(&fx.h) < 0) {
        printf("FAIL: net_fixture: cannot start a network namespace holder\n");
        fx_cleanup();
        return 1;
    }
    RUN(net_lo_up);
    RUN(net_veth_setup);
    RUN(net_veth_connects);
    RUN(net_veth_exists_error);
    RUN(net_move_link);
    RUN(net_veth_teardown);
    RUN(net_setup_failure_cleans_up);
    fx_cleanup();
    if (link_exists(fx.bridge) || link_exists(fx.host_if) || link_exists(fx.moved_peer)) {
        printf("FAIL: net_cleanup: a test link is left on the host\n");
        return 1;
    }
    T_EXIT();
}
