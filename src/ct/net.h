/* Container networking over rtnetlink (libmnl): a veth pair whose host end
 * joins a bridge (created when missing) and whose other end becomes an
 * interface inside the container's network namespace, with an address and
 * a default route; and moving an existing host interface into a container.
 *
 * Work inside the container's namespace is done on a short-lived thread
 * that setns()es into it (network namespaces are per thread), so this is
 * safe in the multi-threaded daemon. */
#ifndef DISCO_CT_NET_H
#define DISCO_CT_NET_H

#include <sys/types.h>

#include "util/err.h"

struct ct_veth_opts {
    const char *bridge;         /* host bridge, created (and brought up) if missing */
    const char *bridge_addr;    /* "10.88.0.1/16" given to a bridge we create; NULL: none */
    const char *host_ifname;    /* host end, e.g. "vd-<name>" (<= 15 chars) */
    const char *ct_ifname;      /* inside; NULL: "eth0" */
    const char *addr;           /* "10.88.0.2/16" inside; NULL: none */
    const char *gateway;        /* default route inside; NULL: none */
    unsigned mtu;               /* 0: the bridge's */
};

/* Create the pair, attach it, move the peer into pid's network namespace,
 * rename it, address it, bring it and lo up. On failure nothing is left. */
int ct_net_veth_setup(pid_t pid, const struct ct_veth_opts *o, struct disco_err *err);
/* Delete the host end (the peer goes with it); -ENODEV if already gone is 0. */
int ct_net_veth_teardown(const char *host_ifname, struct disco_err *err);
/* Bring lo up inside pid's network namespace. */
int ct_net_lo_up(pid_t pid, struct disco_err *err);
/* attach_interface: move host interface ifname into pid's network namespace
 * as ct_ifname (NULL: same name) and bring it up. */
int ct_net_move_link(pid_t pid, const char *ifname, const char *ct_ifname, struct disco_err *err);
/* Interface names inside pid's namespace (tests; newline-separated, malloc'd). */
char *ct_net_list_links(pid_t pid, struct disco_err *err);

#endif
