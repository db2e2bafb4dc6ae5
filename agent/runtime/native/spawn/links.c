/*
 * `@links`: tsc-spawn's built-in for a container's network links (overlay/native-link-ops.ts
 * writes its input). Why: a connect used to be one `sh` script of ~6 programs (sh, ip -batch,
 * nsenter, sh, ip -batch, nft -f), ~16 ms of CPU; done here with rtnetlink and libnftables in
 * the request's forked child it is a few hundred syscalls.
 *
 * Input (the request's stdin bytes), one op per line, words separated by one space, `-` for
 * "not given"; the ops run in order and the first failure stops them (exit 1, one line on
 * stderr: `@links: OP LINE: reason`, the reason worded as iproute2 words it):
 *   netns-add NAME                  what `ip netns add NAME` does (/run/netns/NAME)
 *   netns-del NAME                  what `ip netns del NAME` does
 *   enter PATH | enter -            setns into a namespace file for the ops that follow / back
 *   veth HOST PEER MTU MAC NSPATH   `ip link add HOST [mtu MTU] type veth peer name PEER
 *                                   [address MAC] [mtu MTU] [netns NSPATH]`
 *   master IF BRIDGE                `ip link set IF master BRIDGE`
 *   brport IF HAIRPIN ISOLATED      `ip link set dev IF type bridge_slave [hairpin on|off]
 *                                   [isolated on|off]` (each on, off or -)
 *   up IF                           `ip link set IF up`
 *   mac IF MAC                      `ip link set IF address MAC`
 *   addr IF CIDR [nodad]            `ip addr add CIDR dev IF [nodad]`
 *   route-default IF GW             `ip route replace default via GW dev IF`
 *   link-del IF                     `ip link del IF`
 *   group IF N / group-del N        `ip link set dev IF group N` / `ip link del group N` (N > 0)
 *   bridge NAME MTU MAC             `ip link add NAME [mtu MTU] [address MAC] type bridge`
 *   altname IF NAME                 `ip link property add dev IF altname NAME`
 *   ? OP ...                        OP, its failure ignored and unreported (`ip ... || true`)
 *   sysctl PATH VALUE               write VALUE to /proc/sys/PATH (of the current namespace)
 *   nft LEN                         then LEN bytes (and a newline): an `nft -f` script, run
 *                                   with libnftables, or `nft -f -` when it cannot be loaded
 * The messages are those `ip` sends (checked with strace); a NETLINK_ROUTE socket is opened per
 * namespace entered, since a socket belongs to the namespace it was made in.
 */
#define _GNU_SOURCE
#include "links.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define NETNS_RUN_DIR "/run/netns"

/* libnftables' few entry points, declared here (no -dev headers on the machine). */
struct nft_ctx;
static struct nft_ctx *(*nft_ctx_new_p)(uint32_t flags);
static int (*nft_ctx_buffer_output_p)(struct nft_ctx *);
static int (*nft_ctx_buffer_error_p)(struct nft_ctx *);
static int (*nft_run_cmd_from_buffer_p)(struct nft_ctx *, const char *);
static const char *(*nft_ctx_get_error_buffer_p)(struct nft_ctx *);
static const char *(*nft_ctx_get_output_buffer_p)(struct nft_ctx *);
static unsigned int (*nft_ctx_output_get_flags_p)(struct nft_ctx *);
static void (*nft_ctx_output_set_flags_p)(struct nft_ctx *, unsigned int);
static void (*nft_ctx_free_p)(struct nft_ctx *);
#define NFT_CTX_OUTPUT_JSON (1u << 4) /* libnftables.h */

void links_preload(void) {
  static int done;
  if (done) return;
  done = 1;
  /* TSC_SPAWN_NFT=exec: always `nft -f -` (tests of the fallback). */
  const char *how = getenv("TSC_SPAWN_NFT");
  if (how && strcmp(how, "exec") == 0) return;
  void *h = dlopen("libnftables.so.1", RTLD_NOW | RTLD_LOCAL);
  if (!h) return;
  *(void **)&nft_ctx_new_p = dlsym(h, "nft_ctx_new");
  *(void **)&nft_ctx_buffer_output_p = dlsym(h, "nft_ctx_buffer_output");
  *(void **)&nft_ctx_buffer_error_p = dlsym(h, "nft_ctx_buffer_error");
  *(void **)&nft_run_cmd_from_buffer_p = dlsym(h, "nft_run_cmd_from_buffer");
  *(void **)&nft_ctx_get_error_buffer_p = dlsym(h, "nft_ctx_get_error_buffer");
  *(void **)&nft_ctx_free_p = dlsym(h, "nft_ctx_free");
  *(void **)&nft_ctx_get_output_buffer_p = dlsym(h, "nft_ctx_get_output_buffer");
  *(void **)&nft_ctx_output_get_flags_p = dlsym(h, "nft_ctx_output_get_flags");
  *(void **)&nft_ctx_output_set_flags_p = dlsym(h, "nft_ctx_output_set_flags");
  if (!nft_ctx_new_p || !nft_ctx_buffer_output_p || !nft_ctx_buffer_error_p || !nft_run_cmd_from_buffer_p ||
      !nft_ctx_get_error_buffer_p || !nft_ctx_free_p || !nft_ctx_get_output_buffer_p || !nft_ctx_output_get_flags_p ||
      !nft_ctx_output_set_flags_p)
    nft_ctx_new_p = NULL;
}

/*
 * `@nft [-j]` (links.h): the host's nft commands through one libnftables context kept for the
 * helper's life, in its own process. nftables frees what a transaction deleted after an RCU
 * grace period, and the release of the netlink socket that made it waits for that, holding the
 * commit mutex, which a network device's unregistering takes too: an `nft -f` that deletes
 * rules held its caller ~15-25 ms at exit (perf: nft_rcv_nl_event), and a bridge being deleted
 * meanwhile waited as long. This socket is released only when the helper ends.
 */
/* A libnftables context whose output and errors are kept for reading (its socket: this namespace's). */
static struct nft_ctx *nft_buffered_ctx(void) {
  struct nft_ctx *c = nft_ctx_new_p(0);
  if (c) {
    nft_ctx_buffer_output_p(c);
    nft_ctx_buffer_error_p(c);
  }
  return c;
}

/* `len` bytes of nft commands run in `c`: 0 or nft's non-zero status; -2 without memory. */
static int nft_run(struct nft_ctx *c, const char *cmds, size_t len) {
  char *s = malloc(len + 1);
  if (!s) return -2;
  memcpy(s, cmds, len);
  s[len] = 0;
  int rc = nft_run_cmd_from_buffer_p(c, s);
  free(s);
  return rc;
}

int links_nft_local(const char *cmds, size_t len, int json, const char **out, const char **err) {
  static struct nft_ctx *ctx;
  *out = *err = "";
  links_preload();
  if (!nft_ctx_new_p || (!ctx && !(ctx = nft_buffered_ctx()))) return -1;
  unsigned int flags = nft_ctx_output_get_flags_p(ctx);
  nft_ctx_output_set_flags_p(ctx, json ? flags | NFT_CTX_OUTPUT_JSON : flags & ~NFT_CTX_OUTPUT_JSON);
  int rc = nft_run(ctx, cmds, len);
  if (rc == -2) {
    *err = "out of memory\n";
    return 1;
  }
  /* Each buffer holds what the command wrote since the last read of it. */
  *out = nft_ctx_get_output_buffer_p(ctx);
  *err = nft_ctx_get_error_buffer_p(ctx);
  return rc != 0;
}

static int nl = -1;    /* NETLINK_ROUTE socket of the current namespace, opened on first use */
static uint32_t seq;
static int host_ns = -1; /* the namespace the request started in (`enter -`) */
static int entered;      /* in another namespace (`enter PATH`), until `enter -` */
static const char *op_line; /* for messages */

/* Set while a `?` op runs: its failure is not reported. */
static int quiet;

static int fail(const char *fmt, ...) {
  if (quiet) return 1;
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  dprintf(2, "@links: %s: %s\n", op_line, msg);
  return 1;
}

static int nl_open(void) {
  if (nl >= 0) return 0;
  nl = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (nl < 0) return fail("Cannot open netlink socket: %s", strerror(errno));
  int one = 1;
  setsockopt(nl, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof one);
  setsockopt(nl, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof one);
  return 0;
}

static union {
  struct nlmsghdr n;
  char buf[4096];
} msg;

static struct nlmsghdr *msg_start(uint16_t type, uint16_t flags, const void *hdr, size_t hlen) {
  memset(&msg, 0, sizeof msg);
  struct nlmsghdr *n = &msg.n;
  n->nlmsg_len = NLMSG_LENGTH(hlen);
  n->nlmsg_type = type;
  n->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
  memcpy(NLMSG_DATA(n), hdr, hlen);
  return n;
}

static struct rtattr *put(struct nlmsghdr *n, unsigned short type, const void *data, size_t len) {
  struct rtattr *a = (struct rtattr *)((char *)n + NLMSG_ALIGN(n->nlmsg_len));
  size_t l = RTA_LENGTH(len);
  if (NLMSG_ALIGN(n->nlmsg_len) + RTA_ALIGN(l) > sizeof msg) {
    fail("message too long");
    _exit(1);
  }
  a->rta_type = type;
  a->rta_len = (unsigned short)l;
  if (len) memcpy(RTA_DATA(a), data, len);
  n->nlmsg_len = NLMSG_ALIGN(n->nlmsg_len) + RTA_ALIGN(l);
  return a;
}

static void put_u32(struct nlmsghdr *n, unsigned short type, uint32_t v) { put(n, type, &v, 4); }
static void put_u8(struct nlmsghdr *n, unsigned short type, uint8_t v) { put(n, type, &v, 1); }
/* With its NUL, as iproute2 sends names. */
static void put_str(struct nlmsghdr *n, unsigned short type, const char *s) { put(n, type, s, strlen(s) + 1); }
static struct rtattr *nest(struct nlmsghdr *n, unsigned short type) { return put(n, type, NULL, 0); }
static void nest_end(struct nlmsghdr *n, struct rtattr *a) { a->rta_len = (unsigned short)((char *)n + n->nlmsg_len - (char *)a); }

/* Send and wait for the ack; 0, or the errno with the kernel's extended-ack text in `why`. */
/* Send a request with the next sequence number; 0 or the errno. */
static int send_request(struct nlmsghdr *n) {
  n->nlmsg_seq = ++seq;
  while (send(nl, n, n->nlmsg_len, 0) < 0) {
    if (errno != EINTR) return errno;
  }
  return 0;
}

static int talk(struct nlmsghdr *n, char *why, size_t whylen) {
  why[0] = 0;
  int sent = send_request(n);
  if (sent) return sent;
  static union {
    struct nlmsghdr n;
    char buf[16384];
  } r;
  for (;;) {
    ssize_t got = recv(nl, &r, sizeof r, 0);
    if (got < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    int len = (int)got;
    for (struct nlmsghdr *h = &r.n; NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
      if (h->nlmsg_seq != n->nlmsg_seq || h->nlmsg_type != NLMSG_ERROR) continue;
      struct nlmsgerr *e = NLMSG_DATA(h);
      if (e->error == 0) return 0;
      if (h->nlmsg_flags & NLM_F_ACK_TLVS) {
        size_t off = sizeof *e;
        if (!(h->nlmsg_flags & NLM_F_CAPPED)) off += e->msg.nlmsg_len - sizeof(struct nlmsghdr);
        int alen = (int)h->nlmsg_len - (int)NLMSG_HDRLEN - (int)NLMSG_ALIGN(off);
        for (struct rtattr *a = (struct rtattr *)((char *)e + NLMSG_ALIGN(off)); alen > 0 && RTA_OK(a, alen); a = RTA_NEXT(a, alen)) {
          if (a->rta_type == NLMSGERR_ATTR_MSG) snprintf(why, whylen, "%.*s", (int)RTA_PAYLOAD(a), (const char *)RTA_DATA(a));
        }
      }
      return -e->error;
    }
  }
}

/* Send, and on failure say so as `ip` does ("RTNETLINK answers: File exists"). */
static int rtnl(struct nlmsghdr *n) {
  char why[512];
  int err = talk(n, why, sizeof why);
  if (err == 0) return 0;
  return why[0] ? fail("RTNETLINK answers: %s (%s)", strerror(err), why) : fail("RTNETLINK answers: %s", strerror(err));
}

/* The index of a link in the current namespace (SIOCGIFINDEX on the netlink socket: its namespace). */
static int ifindex(const char *name, int *idx) {
  if (nl_open()) return 1;
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  if (strlen(name) >= IFNAMSIZ) return fail("Cannot find device \"%s\"", name);
  strcpy(ifr.ifr_name, name);
  if (ioctl(nl, SIOCGIFINDEX, &ifr) < 0) return fail("Cannot find device \"%s\"", name);
  *idx = ifr.ifr_ifindex;
  return 0;
}

static int given(const char *w) { return !(w[0] == '-' && w[1] == 0); }

static int parse_mac(const char *s, unsigned char mac[6]) {
  unsigned int b[6];
  char extra;
  if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5], &extra) != 6) return fail("\"%s\" is not a MAC address", s);
  for (int i = 0; i < 6; i++) mac[i] = (unsigned char)b[i];
  return 0;
}

static int parse_u32(const char *s, uint32_t *v) {
  char *end;
  errno = 0;
  unsigned long x = strtoul(s, &end, 10);
  if (errno || end == s || *end || x > UINT32_MAX) return fail("\"%s\" is not a number", s);
  *v = (uint32_t)x;
  return 0;
}

struct inaddr {
  int family;
  unsigned char bytes[16];
  int len;
  int prefix;
};

static int parse_addr(const char *s, struct inaddr *a, int with_prefix) {
  char host[INET6_ADDRSTRLEN + 8];
  const char *slash = with_prefix ? strchr(s, '/') : NULL;
  size_t hl = slash ? (size_t)(slash - s) : strlen(s);
  if (hl >= sizeof host) return fail("invalid address \"%s\"", s);
  memcpy(host, s, hl);
  host[hl] = 0;
  a->family = strchr(host, ':') ? AF_INET6 : AF_INET;
  a->len = a->family == AF_INET6 ? 16 : 4;
  if (inet_pton(a->family, host, a->bytes) != 1) return fail("invalid address \"%s\"", s);
  a->prefix = a->len * 8;
  if (slash) {
    uint32_t p;
    if (parse_u32(slash + 1, &p)) return 1;
    if (p > (uint32_t)a->len * 8) return fail("invalid prefix length in \"%s\"", s);
    a->prefix = (int)p;
  }
  return 0;
}

static int op_veth(char **w) {
  /* veth HOST PEER MTU MAC NSPATH */
  uint32_t mtu = 0;
  unsigned char mac[6];
  int nsfd = -1;
  if (given(w[3]) && parse_u32(w[3], &mtu)) return 1;
  if (given(w[4]) && parse_mac(w[4], mac)) return 1;
  if (given(w[5])) {
    nsfd = open(w[5], O_RDONLY | O_CLOEXEC);
    if (nsfd < 0) return fail("Invalid \"netns\" value \"%s\": %s", w[5], strerror(errno));
  }
  if (nl_open()) return 1;
  struct ifinfomsg ifi = {0};
  struct nlmsghdr *n = msg_start(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, &ifi, sizeof ifi);
  if (mtu) put_u32(n, IFLA_MTU, mtu);
  put_str(n, IFLA_IFNAME, w[1]);
  struct rtattr *info = nest(n, IFLA_LINKINFO);
  put(n, IFLA_INFO_KIND, "veth", 4);
  struct rtattr *data = nest(n, IFLA_INFO_DATA);
  struct rtattr *peer = nest(n, VETH_INFO_PEER);
  n->nlmsg_len += sizeof(struct ifinfomsg);
  if (given(w[4])) put(n, IFLA_ADDRESS, mac, 6);
  if (mtu) put_u32(n, IFLA_MTU, mtu);
  if (nsfd >= 0) put_u32(n, IFLA_NET_NS_FD, (uint32_t)nsfd);
  put_str(n, IFLA_IFNAME, w[2]);
  nest_end(n, peer);
  nest_end(n, data);
  nest_end(n, info);
  int rc = rtnl(n);
  if (nsfd >= 0) close(nsfd);
  return rc;
}

/* An RTM_NEWLINK changing an existing link, found by name. */
static struct nlmsghdr *setlink(const char *dev, unsigned flags, unsigned change) {
  int idx;
  if (ifindex(dev, &idx)) return NULL;
  struct ifinfomsg ifi = {.ifi_index = idx, .ifi_flags = flags, .ifi_change = change};
  return msg_start(RTM_NEWLINK, 0, &ifi, sizeof ifi);
}

static int op_master(char **w) {
  int br;
  if (ifindex(w[2], &br)) return 1;
  struct nlmsghdr *n = setlink(w[1], 0, 0);
  if (!n) return 1;
  put_u32(n, IFLA_MASTER, (uint32_t)br);
  return rtnl(n);
}

static int on_off(const char *w, uint8_t *v) {
  if (strcmp(w, "on") == 0) *v = 1;
  else if (strcmp(w, "off") == 0) *v = 0;
  else return fail("\"%s\" is not on, off or -", w);
  return 0;
}

static int op_brport(char **w) {
  uint8_t hairpin = 0, isolated = 0;
  if (given(w[2]) && on_off(w[2], &hairpin)) return 1;
  if (given(w[3]) && on_off(w[3], &isolated)) return 1;
  struct nlmsghdr *n = setlink(w[1], 0, 0);
  if (!n) return 1;
  /* As `ip link set dev X type bridge_slave ...` sends it: kind "bridge_slave", slave data. */
  struct rtattr *info = nest(n, IFLA_LINKINFO);
  put(n, IFLA_INFO_KIND, "bridge_slave", 12);
  struct rtattr *data = nest(n, IFLA_INFO_SLAVE_DATA);
  if (given(w[2])) put_u8(n, IFLA_BRPORT_MODE, hairpin);
  if (given(w[3])) put_u8(n, IFLA_BRPORT_ISOLATED, isolated);
  nest_end(n, data);
  nest_end(n, info);
  return rtnl(n);
}

static int op_up(char **w) {
  struct nlmsghdr *n = setlink(w[1], IFF_UP, IFF_UP);
  return n ? rtnl(n) : 1;
}

static int op_mac(char **w) {
  unsigned char mac[6];
  if (parse_mac(w[2], mac)) return 1;
  struct nlmsghdr *n = setlink(w[1], 0, 0);
  if (!n) return 1;
  put(n, IFLA_ADDRESS, mac, 6);
  return rtnl(n);
}

static int op_addr(char **w, int nw) {
  struct inaddr a;
  if (parse_addr(w[2], &a, 1)) return 1;
  int nodad = nw > 3 && strcmp(w[3], "nodad") == 0;
  if (nw > 3 && !nodad) return fail("unknown flag \"%s\"", w[3]);
  int idx;
  if (ifindex(w[1], &idx)) return 1;
  /* iproute2's default_scope: host for 127/8, else universe; IFA_LOCAL then IFA_ADDRESS, no broadcast. */
  struct ifaddrmsg ifa = {
      .ifa_family = (unsigned char)a.family,
      .ifa_prefixlen = (unsigned char)a.prefix,
      .ifa_flags = nodad ? IFA_F_NODAD : 0,
      .ifa_scope = a.family == AF_INET && a.bytes[0] == 127 ? RT_SCOPE_HOST : 0,
      .ifa_index = (unsigned)idx,
  };
  struct nlmsghdr *n = msg_start(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, &ifa, sizeof ifa);
  put(n, IFA_LOCAL, a.bytes, (size_t)a.len);
  put(n, IFA_ADDRESS, a.bytes, (size_t)a.len);
  return rtnl(n);
}

static int op_route_default(char **w) {
  struct inaddr gw;
  if (parse_addr(w[2], &gw, 0)) return 1;
  int idx;
  if (ifindex(w[1], &idx)) return 1;
  struct rtmsg rt = {
      .rtm_family = (unsigned char)gw.family,
      .rtm_table = RT_TABLE_MAIN,
      .rtm_protocol = RTPROT_BOOT,
      .rtm_scope = RT_SCOPE_UNIVERSE,
      .rtm_type = RTN_UNICAST,
  };
  struct nlmsghdr *n = msg_start(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE, &rt, sizeof rt);
  put(n, RTA_GATEWAY, gw.bytes, (size_t)gw.len);
  put_u32(n, RTA_OIF, (uint32_t)idx);
  return rtnl(n);
}

/* `ip link add NAME [mtu MTU] [address MAC] type bridge` */
static int op_bridge(char **w) {
  uint32_t mtu = 0;
  unsigned char mac[6];
  if (given(w[2]) && parse_u32(w[2], &mtu)) return 1;
  if (given(w[3]) && parse_mac(w[3], mac)) return 1;
  if (nl_open()) return 1;
  struct ifinfomsg ifi = {0};
  struct nlmsghdr *n = msg_start(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, &ifi, sizeof ifi);
  if (mtu) put_u32(n, IFLA_MTU, mtu);
  if (given(w[3])) put(n, IFLA_ADDRESS, mac, 6);
  put_str(n, IFLA_IFNAME, w[1]);
  struct rtattr *info = nest(n, IFLA_LINKINFO);
  put(n, IFLA_INFO_KIND, "bridge", 6);
  nest_end(n, info);
  return rtnl(n);
}

/* `ip link property add dev IF altname NAME` */
static int op_altname(char **w) {
  int idx;
  if (ifindex(w[1], &idx)) return 1;
  struct ifinfomsg ifi = {.ifi_index = idx};
  struct nlmsghdr *n = msg_start(RTM_NEWLINKPROP, NLM_F_CREATE | NLM_F_EXCL | NLM_F_APPEND, &ifi, sizeof ifi);
  struct rtattr *list = nest(n, IFLA_PROP_LIST | NLA_F_NESTED); /* the kernel parses it strictly */
  put_str(n, IFLA_ALT_IFNAME, w[2]);
  nest_end(n, list);
  return rtnl(n);
}

/* `ip link set dev IF group N`: a batch of removals puts its devices in a group of its own. */
static int op_group(char **w) {
  uint32_t g;
  if (parse_u32(w[2], &g)) return 1;
  struct nlmsghdr *n = setlink(w[1], 0, 0);
  if (!n) return 1;
  put_u32(n, IFLA_GROUP, g);
  return rtnl(n);
}

/*
 * Deleting links without waiting out the kernel's last step. A link delete is answered only after
 * netdev_run_todo()'s rcu_barrier(), ~15-25 ms here (perf's sched_switch stacks of `ip link del`),
 * which comes after the device has left every view: unlisted (`ip link`, its name free), its
 * /sys/class/net entry removed, the RTNL lock released. So the request is sent by a forked child,
 * and this process goes on once the devices' /sys/class/net entries are gone, or the child has
 * ended (then with its status and message). The child finishes the kernel's wait alone and, an
 * orphan by then, is reaped by init like the runtime's monitors. Only in the namespace /sys
 * shows (none `enter`ed) and for devices it shows; otherwise, or when fork fails, the request is
 * sent and waited for here.
 */
#define MAX_WATCHED 256
static char watched[MAX_WATCHED][IFNAMSIZ];

static int in_sys(const char *name) {
  char path[32 + IFNAMSIZ];
  snprintf(path, sizeof path, "/sys/class/net/%s", name);
  return access(path, F_OK) == 0 || errno != ENOENT;
}

static int del_detached(struct nlmsghdr *n, int count) {
  int watchable = !entered && count > 0;
  for (int i = 0; watchable && i < count; i++) watchable = in_sys(watched[i]);
  int errp[2];
  if (!watchable || pipe2(errp, O_CLOEXEC) < 0) return rtnl(n);
  pid_t pid = fork();
  if (pid < 0) {
    close(errp[0]);
    close(errp[1]);
    return rtnl(n);
  }
  if (pid == 0) {
    /* Its message goes to the parent while it waits, and nowhere once it has gone on. */
    signal(SIGPIPE, SIG_IGN);
    dup2(errp[1], 2);
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null >= 0) dup2(null, 0), dup2(null, 1);
    close(nl); /* a socket of its own: the parent's goes on with its own sequence */
    nl = -1;
    _exit(nl_open() || rtnl(n));
  }
  close(errp[1]);
  /* The devices leave /sys one after the other in one batch: look at the first still there. */
  for (int first = 0;;) {
    int st;
    if (waitpid(pid, &st, WNOHANG) == pid) {
      char buf[1024];
      for (ssize_t got; (got = read(errp[0], buf, sizeof buf)) > 0;) {
        if (write(2, buf, (size_t)got) < 0) break;
      }
      close(errp[0]);
      return !(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    }
    while (first < count && !in_sys(watched[first])) first++;
    if (first == count) {
      close(errp[0]);
      return 0;
    }
    struct timespec pause = {0, 200 * 1000};
    nanosleep(&pause, NULL);
  }
}

/* The names of group G's devices (the current namespace's), into `watched`; -1 when too many. */
static int group_members(uint32_t g) {
  if (nl_open()) return -1;
  struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC};
  struct nlmsghdr *n = msg_start(RTM_GETLINK, NLM_F_DUMP, &ifi, sizeof ifi);
  n->nlmsg_flags &= (uint16_t)~NLM_F_ACK;
  put_u32(n, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
  if (send_request(n)) return -1;
  static union {
    struct nlmsghdr n;
    char buf[65536];
  } r;
  int count = 0;
  for (;;) {
    ssize_t got = recv(nl, &r, sizeof r, 0);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) return -1;
    int len = (int)got;
    for (struct nlmsghdr *h = &r.n; NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
      if (h->nlmsg_seq != n->nlmsg_seq) continue;
      if (h->nlmsg_type == NLMSG_DONE) return count;
      if (h->nlmsg_type == NLMSG_ERROR) return -1;
      if (h->nlmsg_type != RTM_NEWLINK) continue;
      struct ifinfomsg *i = NLMSG_DATA(h);
      int alen = (int)IFLA_PAYLOAD(h);
      const char *name = NULL;
      int in_group = 0;
      for (struct rtattr *a = IFLA_RTA(i); RTA_OK(a, alen); a = RTA_NEXT(a, alen)) {
        if (a->rta_type == IFLA_IFNAME) name = RTA_DATA(a);
        if (a->rta_type == IFLA_GROUP && RTA_PAYLOAD(a) >= 4) in_group = *(uint32_t *)RTA_DATA(a) == g;
      }
      if (!in_group || !name) continue;
      if (count == MAX_WATCHED) return -1;
      snprintf(watched[count++], IFNAMSIZ, "%s", name);
    }
  }
}

/* `ip link del group N`: every device of the group unregistered at once (one RCU wait for all). */
static int op_group_del(char **w) {
  uint32_t g;
  if (parse_u32(w[1], &g)) return 1;
  if (g == 0) return fail("refusing to delete group 0 (every device's default)");
  int count = group_members(g);
  struct ifinfomsg ifi = {.ifi_index = 0};
  struct nlmsghdr *n = msg_start(RTM_DELLINK, 0, &ifi, sizeof ifi);
  put_u32(n, IFLA_GROUP, g);
  return del_detached(n, count < 0 ? 0 : count);
}

static int op_link_del(char **w) {
  int idx;
  if (ifindex(w[1], &idx)) return 1;
  struct ifinfomsg ifi = {.ifi_index = idx};
  snprintf(watched[0], IFNAMSIZ, "%s", w[1]);
  return del_detached(msg_start(RTM_DELLINK, 0, &ifi, sizeof ifi), 1);
}

static int netns_path(const char *name, char *path, size_t size) {
  if (!name[0] || strchr(name, '/') || strcmp(name, ".") == 0 || strcmp(name, "..") == 0) return fail("invalid namespace name \"%s\"", name);
  snprintf(path, size, "%s/%s", NETNS_RUN_DIR, name);
  return 0;
}

/* `ip netns add NAME`, step for step (iproute2 6.1, ip/ipnetns.c netns_add, as strace shows it). */
static int op_netns_add(char **w) {
  char path[PATH_MAX];
  if (netns_path(w[1], path, sizeof path)) return 1;
  if (mkdir(NETNS_RUN_DIR, S_IRWXU | S_IRGRP | S_IXGRP | S_IROTH | S_IXOTH) < 0 && errno != EEXIST) {
    return fail("mkdir %s failed: %s", NETNS_RUN_DIR, strerror(errno));
  }
  /* /run/netns made a shared mount point (once: later adds find it one), under a lock as ip does. */
  int lock = open(NETNS_RUN_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (lock < 0) return fail("Cannot open netns runtime directory \"%s\": %s", NETNS_RUN_DIR, strerror(errno));
  flock(lock, LOCK_EX);
  int made = 0;
  while (mount("", NETNS_RUN_DIR, "none", MS_SHARED | MS_REC, NULL)) {
    int err = errno;
    if (err != EINVAL || made) {
      close(lock);
      return fail("mount --make-shared %s failed: %s", NETNS_RUN_DIR, strerror(err));
    }
    if (mount(NETNS_RUN_DIR, NETNS_RUN_DIR, "none", MS_BIND | MS_REC, NULL)) {
      err = errno;
      close(lock);
      return fail("mount --bind %s %s failed: %s", NETNS_RUN_DIR, NETNS_RUN_DIR, strerror(err));
    }
    made = 1;
  }
  close(lock); /* unlocks */
  int fd = open(path, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0);
  if (fd < 0) return fail("Cannot create namespace file \"%s\": %s", path, strerror(errno));
  close(fd);
  int saved = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
  if (saved < 0) {
    int err = errno;
    unlink(path);
    return fail("open /proc/self/ns/net: %s", strerror(err));
  }
  if (unshare(CLONE_NEWNET) < 0) {
    int err = errno;
    close(saved);
    unlink(path);
    return fail("Failed to create a new network namespace \"%s\": %s", w[1], strerror(err));
  }
  int bound = mount("/proc/self/ns/net", path, "none", MS_BIND, NULL) == 0 ? 0 : errno;
  if (setns(saved, CLONE_NEWNET) < 0) {
    /* Cannot go back: nothing after this may run in the wrong namespace. */
    int err = errno;
    close(saved);
    return fail("setns back to the previous namespace: %s", strerror(err));
  }
  close(saved);
  if (bound) {
    umount2(path, MNT_DETACH);
    unlink(path);
    return fail("Bind /proc/self/ns/net -> %s failed: %s", path, strerror(bound));
  }
  return 0;
}

/* `ip netns del NAME`. */
static int op_netns_del(char **w) {
  char path[PATH_MAX];
  if (netns_path(w[1], path, sizeof path)) return 1;
  umount2(path, MNT_DETACH);
  if (unlink(path) < 0) return fail("Cannot remove namespace file \"%s\": %s", path, strerror(errno));
  return 0;
}

static int op_enter(char **w) {
  int fd = given(w[1]) ? open(w[1], O_RDONLY | O_CLOEXEC) : host_ns;
  if (fd < 0) return fail("Cannot open network namespace \"%s\": %s", w[1], strerror(errno));
  int rc = setns(fd, CLONE_NEWNET);
  int err = errno;
  if (fd != host_ns) close(fd);
  if (rc < 0) return fail("setns: %s", strerror(err));
  if (nl >= 0) close(nl);
  nl = -1;
  entered = given(w[1]);
  return 0;
}

/* Like `printf %s VALUE > /proc/sys/PATH`: /proc/sys/net shows the opener's namespace. */
static int op_sysctl(char **w) {
  if (w[1][0] == '/' || strstr(w[1], "..")) return fail("invalid sysctl path \"%s\"", w[1]);
  char path[PATH_MAX];
  snprintf(path, sizeof path, "/proc/sys/%s", w[1]);
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return fail("%s: %s", path, strerror(errno));
  size_t len = strlen(w[2]);
  ssize_t wr = write(fd, w[2], len);
  int err = errno;
  close(fd);
  if (wr != (ssize_t)len) return fail("%s: %s", path, wr < 0 ? strerror(err) : "short write");
  return 0;
}

/* Without libnftables: `nft -f -` with the script on its stdin (its messages on our stderr). */
static int nft_exec(const char *script, size_t len) {
  int p[2];
  if (pipe2(p, O_CLOEXEC) < 0) return fail("pipe: %s", strerror(errno));
  pid_t pid = fork();
  if (pid < 0) return fail("fork: %s", strerror(errno));
  if (pid == 0) {
    dup2(p[0], 0);
    signal(SIGPIPE, SIG_DFL);
    execlp("nft", "nft", "-f", "-", (char *)NULL);
    dprintf(2, "@links: cannot run nft: %s\n", strerror(errno));
    _exit(127);
  }
  close(p[0]);
  for (size_t off = 0; off < len;) {
    ssize_t wr = write(p[1], script + off, len - off);
    if (wr < 0 && errno == EINTR) continue;
    if (wr < 0) break; /* EPIPE: nft stopped reading; its status says why */
    off += (size_t)wr;
  }
  close(p[1]);
  int st;
  while (waitpid(pid, &st, 0) < 0) {
    if (errno != EINTR) return fail("waitpid: %s", strerror(errno));
  }
  if (WIFEXITED(st) && WEXITSTATUS(st) == 0) return 0;
  return fail("nft -f - failed (%s %d)", WIFEXITED(st) ? "exit" : "signal", WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
}

static int op_nft(const char *script, size_t len) {
  if (!nft_ctx_new_p) return nft_exec(script, len);
  /* Made here, after setns: the context's netlink socket belongs to this namespace. */
  struct nft_ctx *c = nft_buffered_ctx();
  if (!c) return fail("nft_ctx_new failed");
  int rc = nft_run(c, script, len);
  if (rc == -2) {
    fail("out of memory");
  } else if (rc != 0) {
    const char *e = nft_ctx_get_error_buffer_p(c);
    size_t el = e ? strlen(e) : 0;
    while (el > 0 && e[el - 1] == '\n') el--;
    fail("%.*s", (int)el, el ? e : "failed");
  }
  nft_ctx_free_p(c);
  return rc != 0;
}

/* Every descriptor from 3 up: close_range(2) where the kernel has it, else /proc/self/fd. */
static void close_others(void) {
#ifdef SYS_close_range
  if (syscall(SYS_close_range, 3U, ~0U, 0U) == 0) return;
#endif
  DIR *d = opendir("/proc/self/fd");
  if (!d) return;
  int keep = dirfd(d);
  for (struct dirent *e; (e = readdir(d));) {
    int fd = atoi(e->d_name);
    if (fd > 2 && fd != keep) close(fd);
  }
  closedir(d);
}

struct fixed_op {
  const char *name;
  int words;
  int (*fn)(char **);
};

static const struct fixed_op fixed[] = {
    {"netns-add", 2, op_netns_add}, {"netns-del", 2, op_netns_del}, {"enter", 2, op_enter},   {"veth", 6, op_veth},
    {"master", 3, op_master},       {"brport", 4, op_brport},       {"up", 2, op_up},         {"mac", 3, op_mac},
    {"route-default", 3, op_route_default}, {"link-del", 2, op_link_del}, {"sysctl", 3, op_sysctl},
    {"group", 3, op_group},         {"group-del", 2, op_group_del}, {"bridge", 4, op_bridge},  {"altname", 3, op_altname},
};

#define MAXW 8

int links_run(const char *text, size_t len) {
  signal(SIGPIPE, SIG_IGN);
  /*
   * Not exec'd, so close-on-exec does nothing here: drop the helper's other descriptors (other
   * requests' stdin pipes would otherwise stay open, and their programs wait for EOF on us).
   */
  close_others();
  host_ns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
  if (host_ns < 0) {
    dprintf(2, "@links: open /proc/self/ns/net: %s\n", strerror(errno));
    return 1;
  }
  char line[1024];
  size_t off = 0;
  while (off < len) {
    const char *eol = memchr(text + off, '\n', len - off);
    size_t ll = eol ? (size_t)(eol - (text + off)) : len - off;
    op_line = line;
    if (ll >= sizeof line) {
      snprintf(line, sizeof line, "%.40s...", text + off);
      return fail("line too long");
    }
    memcpy(line, text + off, ll);
    line[ll] = 0;
    off += ll + (eol ? 1 : 0);
    if (ll == 0) continue;
    /* Split a copy: `line` stays whole for messages. */
    char words[sizeof line];
    memcpy(words, line, ll + 1);
    char *w[MAXW + 1] = {0};
    int nw = 0;
    for (char *save = NULL, *t = strtok_r(words, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
      if (nw == MAXW) return fail("too many words");
      w[nw++] = t;
    }
    /* `? OP ...`: OP whose failure is ignored (not for nft: its bytes follow the line). */
    int optional = nw > 1 && strcmp(w[0], "?") == 0 && strcmp(w[1], "nft") != 0;
    if (optional) {
      memmove(w, w + 1, (size_t)nw * sizeof w[0]);
      nw--;
      quiet = 1;
    }
    const char *op = w[0];
    int rc;
    if (strcmp(op, "nft") == 0) {
      uint32_t n;
      if (nw != 2 || parse_u32(w[1], &n)) return nw != 2 ? fail("expected nft LEN") : 1;
      if (n > len - off) return fail("script cut short (%zu of %u bytes)", len - off, n);
      rc = op_nft(text + off, n);
      off += n;
      if (off < len && text[off] == '\n') off++;
    } else if (strcmp(op, "addr") == 0) {
      rc = nw == 3 || nw == 4 ? op_addr(w, nw) : fail("expected addr IF CIDR [nodad]");
    } else {
      rc = -1;
      for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) {
        if (strcmp(op, fixed[i].name) != 0) continue;
        rc = nw == fixed[i].words ? fixed[i].fn(w) : fail("expected %d words", fixed[i].words);
        break;
      }
      if (rc < 0) rc = fail("unknown op");
    }
    if (optional) {
      quiet = 0;
      rc = 0;
    }
    if (rc) return 1;
  }
  return 0;
}
