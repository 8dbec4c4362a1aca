/* Container networking over rtnetlink with libmnl. Every request carries
 * NLM_F_ACK so a kernel refusal comes back as an errno we can name; each
 * call opens its own socket (no shared state between threads). Work inside
 * a container's network namespace runs on a short-lived thread that
 * setns()es there: a network namespace is a per-thread attribute, so the
 * rest of the process is not affected. */
#define _GNU_SOURCE
#include "ct/net.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <net/if.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

/* Large enough for any one message of a link dump (the kernel sizes its
 * dump skbs up to 32 KiB; a smaller buffer would truncate them). */
#define NL_BUF_SIZE 32768
/* A kernel reply never takes long; this only guards against a wedged
 * socket leaving a daemon thread blocked forever. */
#define NL_RECV_TIMEOUT_S 10

struct nl_session {
    struct mnl_socket *sock;
    unsigned seq;
    unsigned portid;
    char *buf;
};

static void nl_close(struct nl_session *s)
{
    if (s->sock)
        mnl_socket_close(s->sock);
    free(s->buf);
    memset(s, 0, sizeof *s);
}

static int nl_open(struct nl_session *s, struct disco_err *err)
{
    memset(s, 0, sizeof *s);
    s->buf = malloc(NL_BUF_SIZE);
    if (!s->buf)
        return err_errno(err, ENOMEM, "cannot allocate a netlink buffer");
    s->sock = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
    if (!s->sock) {
        int e = errno;
        nl_close(s);
        return err_errno(err, e, "cannot open a rtnetlink socket");
    }
    struct timeval tv = {.tv_sec = NL_RECV_TIMEOUT_S};
    setsockopt(mnl_socket_get_fd(s->sock), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (mnl_socket_bind(s->sock, 0, MNL_SOCKET_AUTOPID) < 0) {
        int e = errno;
        nl_close(s);
        return err_errno(err, e, "cannot bind a rtnetlink socket");
    }
    s->portid = mnl_socket_get_portid(s->sock);
    /* Distinct starting points keep replies to an earlier session (there
     * are none, but cheap insurance) from matching. */
    s->seq = (unsigned)time(NULL);
    return 0;
}

/* A request header in the session buffer. */
static struct nlmsghdr *nl_msg(struct nl_session *s, uint16_t type, uint16_t flags)
{
    struct nlmsghdr *nlh = mnl_nlmsg_put_header(s->buf);
    nlh->nlmsg_type = type;
    nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
    nlh->nlmsg_seq = ++s->seq;
    return nlh;
}

static struct ifinfomsg *nl_put_ifinfo(struct nlmsghdr *nlh, int ifindex)
{
    struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof *ifi);
    ifi->ifi_family = AF_UNSPEC;
    ifi->ifi_index = ifindex;
    return ifi;
}

/* Send the request in the session buffer and run replies through cb (NULL:
 * an ack is all we expect) until the ack or NLMSG_DONE. Errors name `what`
 * (already formatted by the caller). */
static int nl_talk(struct nl_session *s, struct nlmsghdr *nlh, mnl_cb_t cb, void *data,
                   const char *what, struct disco_err *err)
{
    unsigned seq = nlh->nlmsg_seq;
    if (mnl_socket_sendto(s->sock, nlh, nlh->nlmsg_len) < 0)
        return err_errno(err, errno, "%s", what);
    for (;;) {
        ssize_t n = mnl_socket_recvfrom(s->sock, s->buf, NL_BUF_SIZE);
        if (n < 0) {
            int e = errno == EAGAIN ? ETIMEDOUT : errno;
            return err_errno(err, e, "%s (no reply from the kernel)", what);
        }
        int r = mnl_cb_run(s->buf, (size_t)n, seq, s->portid, cb, data);
        if (r < 0)
            return err_errno(err, errno ? errno : EIO, "%s", what);
        if (r == MNL_CB_STOP)
            return 0;
    }
}

/* Kernel interface names: 1..15 bytes, no '/', ':' or white space, not "."
 * or ".." (dev_valid_name). `option` names the setting for the message. */
static int check_ifname(const char *name, const char *option, struct disco_err *err)
{
    if (!name || !name[0])
        return err_set(err, -EINVAL, "%s: an interface name is required", option);
    size_t n = strlen(name);
    if (n >= IFNAMSIZ)
        return err_set(err, -EINVAL, "%s '%.40s': interface names are at most %d characters",
                       option, name, IFNAMSIZ - 1);
    if (!strcmp(name, ".") || !strcmp(name, ".."))
        return err_set(err, -EINVAL, "%s '%s': not a valid interface name", option, name);
    for (const char *p = name; *p; p++)
        if (*p == '/' || *p == ':' || *p <= ' ' || *p == 0x7f)
            return err_set(err, -EINVAL,
                           "%s '%s': interface names cannot contain '/', ':' or spaces", option,
                           name);
    return 0;
}

struct ip_addr {
    int family;                 /* AF_INET or AF_INET6 */
    unsigned char bytes[16];
    unsigned len;               /* 4 or 16 */
    unsigned prefix;
};

/* "a.b.c.d/len" (or an IPv6 one); want_prefix false: a bare address. */
static int parse_addr(const char *s, bool want_prefix, const char *option, struct ip_addr *a,
                      struct disco_err *err)
{
    char tmp[INET6_ADDRSTRLEN + 8];
    if (!s || strlen(s) >= sizeof tmp)
        return err_set(err, -EINVAL, "%s '%.60s': not an IP address", option, s ? s : "");
    strcpy(tmp, s);
    char *slash = strchr(tmp, '/');
    if (want_prefix && !slash)
        return err_set(err, -EINVAL, "%s '%s': an address with a prefix length is required "
                       "(\"10.88.0.2/16\")", option, s);
    if (!want_prefix && slash)
        return err_set(err, -EINVAL, "%s '%s': expected an address without a prefix length",
                       option, s);
    if (slash)
        *slash = '\0';
    memset(a, 0, sizeof *a);
    if (inet_pton(AF_INET, tmp, a->bytes) == 1) {
        a->family = AF_INET;
        a->len = 4;
    } else if (inet_pton(AF_INET6, tmp, a->bytes) == 1) {
        a->family = AF_INET6;
        a->len = 16;
    } else {
        return err_set(err, -EINVAL, "%s '%s': not an IP address", option, s);
    }
    a->prefix = a->len * 8;
    if (slash) {
        char *end;
        errno = 0;
        unsigned long p = strtoul(slash + 1, &end, 10);
        if (!slash[1] || *end || errno || p > a->len * 8)
            return err_set(err, -EINVAL, "%s '%s': bad prefix length", option, s);
        a->prefix = (unsigned)p;
    }
    return 0;
}

/* ---- requests ---------------------------------------------------------- */

/* Change flags / master / mtu / name of an existing link (0 / NULL: leave). */
struct link_change {
    bool up;
    int master;
    unsigned mtu;
    const char *new_name;
    pid_t netns_pid;
};

static int nl_set_link(struct nl_session *s, int ifindex, const struct link_change *c,
                       const char *what, struct disco_err *err)
{
    struct nlmsghdr *nlh = nl_msg(s, RTM_NEWLINK, 0);
    struct ifinfomsg *ifi = nl_put_ifinfo(nlh, ifindex);
    if (c->up) {
        ifi->ifi_flags = IFF_UP;
        ifi->ifi_change = IFF_UP;
    }
    if (c->master)
        mnl_attr_put_u32(nlh, IFLA_MASTER, (uint32_t)c->master);
    if (c->mtu)
        mnl_attr_put_u32(nlh, IFLA_MTU, c->mtu);
    if (c->new_name)
        mnl_attr_put_strz(nlh, IFLA_IFNAME, c->new_name);
    if (c->netns_pid)
        mnl_attr_put_u32(nlh, IFLA_NET_NS_PID, (uint32_t)c->netns_pid);
    return nl_talk(s, nlh, NULL, NULL, what, err);
}

/* Delete a link by name; a missing one is not an error. */
static int nl_del_link(struct nl_session *s, const char *name, struct disco_err *err)
{
    char what[96];
    snprintf(what, sizeof what, "cannot delete link %s", name);
    struct nlmsghdr *nlh = nl_msg(s, RTM_DELLINK, 0);
    nl_put_ifinfo(nlh, 0);
    mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
    struct disco_err e2;
    int r = nl_talk(s, nlh, NULL, NULL, what, &e2);
    if (r == -ENODEV)
        return 0;
    if (r < 0 && err)
        *err = e2;
    return r;
}

static int nl_add_addr(struct nl_session *s, int ifindex, const struct ip_addr *a,
                       const char *what, struct disco_err *err)
{
    struct nlmsghdr *nlh = nl_msg(s, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL);
    struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(nlh, sizeof *ifa);
    ifa->ifa_family = (unsigned char)a->family;
    ifa->ifa_prefixlen = (unsigned char)a->prefix;
    ifa->ifa_scope = RT_SCOPE_UNIVERSE;
    ifa->ifa_index = (unsigned)ifindex;
    mnl_attr_put(nlh, IFA_LOCAL, a->len, a->bytes);
    mnl_attr_put(nlh, IFA_ADDRESS, a->len, a->bytes);
    if (a->family == AF_INET && a->prefix < 31) {
        /* What `ip addr add` fills in: the subnet's broadcast address. */
        uint32_t ip;
        memcpy(&ip, a->bytes, 4);
        uint32_t host_mask = a->prefix ? (0xffffffffu >> a->prefix) : 0xffffffffu;
        uint32_t bcast = htonl(ntohl(ip) | host_mask);
        mnl_attr_put(nlh, IFA_BROADCAST, 4, &bcast);
    }
    return nl_talk(s, nlh, NULL, NULL, what, err);
}

static int nl_add_default_route(struct nl_session *s, int ifindex, const struct ip_addr *gw,
                                const char *what, struct disco_err *err)
{
    struct nlmsghdr *nlh = nl_msg(s, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL);
    struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof *rtm);
    rtm->rtm_family = (unsigned char)gw->family;
    rtm->rtm_dst_len = 0;
    rtm->rtm_table = RT_TABLE_MAIN;
    rtm->rtm_protocol = RTPROT_BOOT;
    rtm->rtm_scope = RT_SCOPE_UNIVERSE;
    rtm->rtm_type = RTN_UNICAST;
    mnl_attr_put(nlh, RTA_GATEWAY, gw->len, gw->bytes);
    mnl_attr_put_u32(nlh, RTA_OIF, (uint32_t)ifindex);
    return nl_talk(s, nlh, NULL, NULL, what, err);
}

/* IFLA_MTU of one link (GETLINK by index, a single reply). */
static int mtu_attr_cb(const struct nlattr *attr, void *data)
{
    if (mnl_attr_get_type(attr) == IFLA_MTU && mnl_attr_validate(attr, MNL_TYPE_U32) == 0)
        *(unsigned *)data = mnl_attr_get_u32(attr);
    return MNL_CB_OK;
}

static int mtu_msg_cb(const struct nlmsghdr *nlh, void *data)
{
    if (nlh->nlmsg_type == RTM_NEWLINK)
        mnl_attr_parse(nlh, sizeof(struct ifinfomsg), mtu_attr_cb, data);
    return MNL_CB_OK;
}

static int nl_link_mtu(struct nl_session *s, int ifindex, const char *name, unsigned *mtu,
                       struct disco_err *err)
{
    char what[96];
    snprintf(what, sizeof what, "cannot read the mtu of %s", name);
    struct nlmsghdr *nlh = nl_msg(s, RTM_GETLINK, 0);
    nl_put_ifinfo(nlh, ifindex);
    *mtu = 0;
    return nl_talk(s, nlh, mtu_msg_cb, mtu, what, err);
}

/* ---- work inside a network namespace ----------------------------------- */

typedef int (*ns_fn)(struct nl_session *s, void *arg, struct disco_err *err);

struct ns_job {
    int ns_fd;
    ns_fn fn;
    void *arg;
    int rc;
    struct disco_err err;
};

static void *ns_thread(void *p)
{
    struct ns_job *job = p;
    /* Only this thread enters the namespace; it ends right after, so the
     * process's other threads never see it. */
    if (setns(job->ns_fd, CLONE_NEWNET) < 0) {
        job->rc = err_errno(&job->err, errno, "cannot enter the container's network namespace");
        return job;
    }
    struct nl_session s;
    job->rc = nl_open(&s, &job->err);
    if (job->rc == 0) {
        job->rc = job->fn(&s, job->arg, &job->err);
        nl_close(&s);
    }
    return job;
}

static int run_in_netns(pid_t pid, ns_fn fn, void *arg, struct disco_err *err)
{
    if (pid <= 0)
        return err_set(err, -EINVAL, "no container process (pid %d)", (int)pid);
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/ns/net", (int)pid);
    struct ns_job job = {.fn = fn, .arg = arg};
    job.ns_fd = open(path, O_RDONLY | O_CLOEXEC);
    if (job.ns_fd < 0)
        return err_errno(err, errno, "cannot open %s", path);
    pthread_t th;
    int r = pthread_create(&th, NULL, ns_thread, &job);
    if (r != 0) {
        close(job.ns_fd);
        return err_errno(err, r, "cannot start a thread for the network namespace of pid %d",
                         (int)pid);
    }
    pthread_join(th, NULL);
    close(job.ns_fd);
    if (job.rc < 0 && err)
        *err = job.err;
    return job.rc;
}

static int ns_ifindex(const char *name, pid_t pid, struct disco_err *err)
{
    unsigned idx = if_nametoindex(name);
    if (!idx)
        return err_errno(err, errno == ENXIO ? ENODEV : errno,
                         "no interface %s in the network namespace of pid %d", name, (int)pid);
    return (int)idx;
}

static int lo_up_in(struct nl_session *s, pid_t pid, struct disco_err *err)
{
    int lo = ns_ifindex("lo", pid, err);
    if (lo < 0)
        return lo;
    struct link_change up = {.up = true};
    return nl_set_link(s, lo, &up, "cannot bring lo up in the container", err);
}

struct veth_inside {
    pid_t pid;
    const char *tmp_name, *ct_ifname;
    const struct ip_addr *addr, *gateway;
    unsigned mtu;
};

static int veth_inside_fn(struct nl_session *s, void *arg, struct disco_err *err)
{
    const struct veth_inside *v = arg;
    char what[160];
    int idx = ns_ifindex(v->tmp_name, v->pid, err);
    if (idx < 0)
        return idx;
    /* The peer is still down (a new veth end is), which a rename requires. */
    struct link_change c = {.mtu = v->mtu};
    if (strcmp(v->tmp_name, v->ct_ifname))
        c.new_name = v->ct_ifname;
    snprintf(what, sizeof what, "cannot rename %s to %s in the container", v->tmp_name,
             v->ct_ifname);
    int r = nl_set_link(s, idx, &c, what, err);
    if (r < 0)
        return r;
    if (v->addr) {
        char a[INET6_ADDRSTRLEN];
        inet_ntop(v->addr->family, v->addr->bytes, a, sizeof a);
        snprintf(what, sizeof what, "cannot add address %s/%u to %s in the container", a,
                 v->addr->prefix, v->ct_ifname);
        if ((r = nl_add_addr(s, idx, v->addr, what, err)) < 0)
            return r;
    }
    struct link_change up = {.up = true};
    snprintf(what, sizeof what, "cannot bring %s up in the container", v->ct_ifname);
    if ((r = nl_set_link(s, idx, &up, what, err)) < 0)
        return r;
    if ((r = lo_up_in(s, v->pid, err)) < 0)
        return r;
    if (v->gateway) {
        char g[INET6_ADDRSTRLEN];
        inet_ntop(v->gateway->family, v->gateway->bytes, g, sizeof g);
        snprintf(what, sizeof what, "cannot add the default route via %s on %s in the container",
                 g, v->ct_ifname);
        if ((r = nl_add_default_route(s, idx, v->gateway, what, err)) < 0)
            return r;
    }
    return 0;
}

/* ---- host side --------------------------------------------------------- */

/* Make sure the bridge exists and is up. *created: we made it (only then
 * does it get bridge_addr, so an existing bridge's setup is left alone). */
static int bridge_ensure(struct nl_session *s, const char *bridge, const struct ip_addr *addr,
                         int *ifindex, bool *created, struct disco_err *err)
{
    char what[160];
    *created = false;
    int idx = (int)if_nametoindex(bridge);
    if (!idx) {
        snprintf(what, sizeof what, "cannot create bridge %s", bridge);
        struct nlmsghdr *nlh = nl_msg(s, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
        nl_put_ifinfo(nlh, 0);
        mnl_attr_put_strz(nlh, IFLA_IFNAME, bridge);
        struct nlattr *linkinfo = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
        mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "bridge");
        mnl_attr_nest_end(nlh, linkinfo);
        struct disco_err e2;
        int r = nl_talk(s, nlh, NULL, NULL, what, &e2);
        /* EEXIST: another container's setup created it meanwhile; use it. */
        if (r < 0 && r != -EEXIST) {
            if (err)
                *err = e2;
            return r;
        }
        *created = r == 0;
        idx = (int)if_nametoindex(bridge);
        if (!idx)
            return err_errno(err, errno, "bridge %s vanished after creation", bridge);
    }
    if (*created && addr) {
        char a[INET6_ADDRSTRLEN];
        inet_ntop(addr->family, addr->bytes, a, sizeof a);
        snprintf(what, sizeof what, "cannot add address %s/%u to bridge %s", a, addr->prefix,
                 bridge);
        int r = nl_add_addr(s, idx, addr, what, err);
        if (r < 0)
            return r;
    }
    struct link_change up = {.up = true};
    snprintf(what, sizeof what, "cannot bring bridge %s up", bridge);
    int r = nl_set_link(s, idx, &up, what, err);
    if (r < 0)
        return r;
    *ifindex = idx;
    return 0;
}

/* A bridge this call created is removed on failure, unless something else
 * joined it in the meantime. */
static void bridge_undo(struct nl_session *s, const char *bridge)
{
    char path[96];
    snprintf(path, sizeof path, "/sys/class/net/%s/brif", bridge);
    DIR *d = opendir(path);
    if (d) {
        bool ports = false;
        struct dirent *de;
        while (!ports && (de = readdir(d)))
            ports = strcmp(de->d_name, ".") && strcmp(de->d_name, "..");
        closedir(d);
        if (ports)
            return;
    }
    nl_del_link(s, bridge, NULL);
}

int ct_net_veth_setup(pid_t pid, const struct ct_veth_opts *o, struct disco_err *err)
{
    if (!o)
        return err_set(err, -EINVAL, "no network options");
    if (pid <= 0)
        return err_set(err, -EINVAL, "no container process (pid %d)", (int)pid);
    const char *ct_ifname = o->ct_ifname ? o->ct_ifname : "eth0";
    int r;
    if ((r = check_ifname(o->bridge, "bridge", err)) < 0 ||
        (r = check_ifname(o->host_ifname, "host interface", err)) < 0 ||
        (r = check_ifname(ct_ifname, "container interface", err)) < 0)
        return r;
    struct ip_addr bridge_addr, addr, gateway;
    if (o->bridge_addr && (r = parse_addr(o->bridge_addr, true, "bridge address", &bridge_addr,
                                          err)) < 0)
        return r;
    if (o->addr && (r = parse_addr(o->addr, true, "address", &addr, err)) < 0)
        return r;
    if (o->gateway && (r = parse_addr(o->gateway, false, "gateway", &gateway, err)) < 0)
        return r;
    if (o->addr && o->gateway && addr.family != gateway.family)
        return err_set(err, -EINVAL, "gateway %s and address %s are not of the same family",
                       o->gateway, o->addr);
    if (o->mtu && (o->mtu < 68 || o->mtu > 65535))
        return err_set(err, -EINVAL, "mtu %u: out of range (68..65535)", o->mtu);

    struct nl_session s;
    if ((r = nl_open(&s, err)) < 0)
        return r;
    int br_idx = 0;
    bool br_created = false;
    if ((r = bridge_ensure(&s, o->bridge, o->bridge_addr ? &bridge_addr : NULL, &br_idx,
                           &br_created, err)) < 0)
        goto fail;
    unsigned mtu = o->mtu;
    if (!mtu && (r = nl_link_mtu(&s, br_idx, o->bridge, &mtu, err)) < 0)
        goto fail;

    /* The peer is born in the container's namespace under a temporary name
     * unique to this container, then renamed there: that way no host name
     * is ever taken by it, and a clash inside shows as a rename error. */
    char tmp_name[IFNAMSIZ];
    snprintf(tmp_name, sizeof tmp_name, "vp%dx", (int)pid);
    char what[160];
    snprintf(what, sizeof what, "cannot create veth %s/%s", o->host_ifname, ct_ifname);
    struct nlmsghdr *nlh = nl_msg(&s, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
    nl_put_ifinfo(nlh, 0);
    mnl_attr_put_strz(nlh, IFLA_IFNAME, o->host_ifname);
    if (mtu)
        mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
    struct nlattr *linkinfo = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
    mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "veth");
    struct nlattr *data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
    struct nlattr *peer = mnl_attr_nest_start(nlh, VETH_INFO_PEER);
    /* VETH_INFO_PEER holds a struct ifinfomsg followed by link attributes. */
    struct ifinfomsg *pifi = mnl_nlmsg_get_payload_tail(nlh);
    memset(pifi, 0, sizeof *pifi);
    nlh->nlmsg_len += MNL_ALIGN(sizeof *pifi);
    pifi->ifi_family = AF_UNSPEC;
    mnl_attr_put_strz(nlh, IFLA_IFNAME, tmp_name);
    mnl_attr_put_u32(nlh, IFLA_NET_NS_PID, (uint32_t)pid);
    if (mtu)
        mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
    mnl_attr_nest_end(nlh, peer);
    mnl_attr_nest_end(nlh, data);
    mnl_attr_nest_end(nlh, linkinfo);
    if ((r = nl_talk(&s, nlh, NULL, NULL, what, err)) < 0)
        goto fail;

    int host_idx = (int)if_nametoindex(o->host_ifname);
    if (!host_idx) {
        r = err_errno(err, errno, "veth %s vanished after creation", o->host_ifname);
        goto fail_veth;
    }
    struct link_change attach = {.up = true, .master = br_idx};
    snprintf(what, sizeof what, "cannot attach %s to bridge %s", o->host_ifname, o->bridge);
    if ((r = nl_set_link(&s, host_idx, &attach, what, err)) < 0)
        goto fail_veth;

    struct veth_inside in = {
        .pid = pid, .tmp_name = tmp_name, .ct_ifname = ct_ifname,
        .addr = o->addr ? &addr : NULL, .gateway = o->gateway ? &gateway : NULL,
        .mtu = 0,       /* set at creation */
    };
    if ((r = run_in_netns(pid, veth_inside_fn, &in, err)) < 0)
        goto fail_veth;
    nl_close(&s);
    return 0;

fail_veth:
    nl_del_link(&s, o->host_ifname, NULL);
fail:
    if (br_created)
        bridge_undo(&s, o->bridge);
    nl_close(&s);
    return r;
}

int ct_net_veth_teardown(const char *host_ifname, struct disco_err *err)
{
    int r = check_ifname(host_ifname, "host interface", err);
    if (r < 0)
        return r;
    struct nl_session s;
    if ((r = nl_open(&s, err)) < 0)
        return r;
    r = nl_del_link(&s, host_ifname, err);
    nl_close(&s);
    return r;
}

struct lo_arg {
    pid_t pid;
};

static int lo_up_fn(struct nl_session *s, void *arg, struct disco_err *err)
{
    return lo_up_in(s, ((struct lo_arg *)arg)->pid, err);
}

int ct_net_lo_up(pid_t pid, struct disco_err *err)
{
    struct lo_arg a = {.pid = pid};
    return run_in_netns(pid, lo_up_fn, &a, err);
}

struct move_inside {
    pid_t pid;
    const char *name, *ct_ifname;
};

static int move_inside_fn(struct nl_session *s, void *arg, struct disco_err *err)
{
    const struct move_inside *m = arg;
    int idx = ns_ifindex(m->name, m->pid, err);
    if (idx < 0)
        return idx;
    char what[128];
    int r;
    if (strcmp(m->name, m->ct_ifname)) {
        /* Moving took it down, so it can be renamed. */
        struct link_change c = {.new_name = m->ct_ifname};
        snprintf(what, sizeof what, "cannot rename %s to %s in the container", m->name,
                 m->ct_ifname);
        if ((r = nl_set_link(s, idx, &c, what, err)) < 0)
            return r;
    }
    struct link_change up = {.up = true};
    snprintf(what, sizeof what, "cannot bring %s up in the container", m->ct_ifname);
    return nl_set_link(s, idx, &up, what, err);
}

int ct_net_move_link(pid_t pid, const char *ifname, const char *ct_ifname, struct disco_err *err)
{
    if (!ct_ifname)
        ct_ifname = ifname;
    int r;
    if ((r = check_ifname(ifname, "interface", err)) < 0 ||
        (r = check_ifname(ct_ifname, "container interface", err)) < 0)
        return r;
    if (pid <= 0)
        return err_set(err, -EINVAL, "no container process (pid %d)", (int)pid);
    int idx = (int)if_nametoindex(ifname);
    if (!idx)
        return err_errno(err, errno == ENXIO ? ENODEV : errno, "no host interface %s", ifname);
    struct nl_session s;
    if ((r = nl_open(&s, err)) < 0)
        return r;
    char what[128];
    snprintf(what, sizeof what, "cannot move %s into the network namespace of pid %d", ifname,
             (int)pid);
    struct link_change mv = {.netns_pid = pid};
    r = nl_set_link(&s, idx, &mv, what, err);
    nl_close(&s);
    if (r < 0)
        return r;
    struct move_inside m = {.pid = pid, .name = ifname, .ct_ifname = ct_ifname};
    return run_in_netns(pid, move_inside_fn, &m, err);
}

/* Link dump: a growing newline-separated list of names. */
struct name_list {
    char *buf;
    size_t len, cap;
    bool oom;
};

static int name_attr_cb(const struct nlattr *attr, void *data)
{
    if (mnl_attr_get_type(attr) == IFLA_IFNAME && mnl_attr_validate(attr, MNL_TYPE_STRING) == 0)
        *(const char **)data = mnl_attr_get_str(attr);
    return MNL_CB_OK;
}

static int name_msg_cb(const struct nlmsghdr *nlh, void *data)
{
    struct name_list *l = data;
    if (nlh->nlmsg_type != RTM_NEWLINK)
        return MNL_CB_OK;
    const char *name = NULL;
    mnl_attr_parse(nlh, sizeof(struct ifinfomsg), name_attr_cb, &name);
    if (!name)
        return MNL_CB_OK;
    size_t n = strnlen(name, IFNAMSIZ);
    if (l->len + n + 2 > l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 256;
        while (cap < l->len + n + 2)
            cap *= 2;
        char *nb = realloc(l->buf, cap);
        if (!nb) {
            l->oom = true;
            return MNL_CB_OK;
        }
        l->buf = nb;
        l->cap = cap;
    }
    memcpy(l->buf + l->len, name, n);
    l->len += n;
    l->buf[l->len++] = '\n';
    l->buf[l->len] = '\0';
    return MNL_CB_OK;
}

static int list_fn(struct nl_session *s, void *arg, struct disco_err *err)
{
    struct nlmsghdr *nlh = nl_msg(s, RTM_GETLINK, NLM_F_DUMP);
    struct rtgenmsg *g = mnl_nlmsg_put_extra_header(nlh, sizeof *g);
    g->rtgen_family = AF_UNSPEC;
    return nl_talk(s, nlh, name_msg_cb, arg, "cannot list the container's interfaces", err);
}

char *ct_net_list_links(pid_t pid, struct disco_err *err)
{
    struct name_list l = {0};
    int r = run_in_netns(pid, list_fn, &l, err);
    if (r == 0 && l.oom)
        r = err_errno(err, ENOMEM, "cannot list the container's interfaces");
    if (r == 0 && !l.buf && !(l.buf = calloc(1, 1)))
        r = err_errno(err, ENOMEM, "cannot list the container's interfaces");
    if (r < 0) {
        free(l.buf);
        return NULL;
    }
    return l.buf;
}
