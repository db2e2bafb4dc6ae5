/* The container's first process, from clone() to execve(): it waits for the monitor to set up
 * user maps and cgroups, builds the file system, drops privileges and reports "ready"; then it
 * waits for start and execs the process. Any failure is sent to the monitor as one message. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/close_range.h>
#include <net/if.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <termios.h>
#include <unistd.h>

#include "rt.h"
#include "util.h"

static int init_sock = -1;

static _Noreturn void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static _Noreturn void fail(const char *fmt, ...) {
  char msg[4096];
  msg[0] = 'E';
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg + 1, sizeof msg - 1, fmt, ap);
  va_end(ap);
  send(init_sock, msg, strlen(msg), MSG_NOSIGNAL);
  _exit(127);
}

static void loopback_up(void) {
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) return;
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  strcpy(ifr.ifr_name, "lo");
  if (ioctl(s, SIOCGIFFLAGS, &ifr) == 0) {
    ifr.ifr_flags |= IFF_UP;
    ioctl(s, SIOCSIFFLAGS, &ifr);
  }
  close(s);
}

static const struct { const char *name; int res; } rlimit_names[] = {
    {"RLIMIT_CPU", RLIMIT_CPU},       {"RLIMIT_FSIZE", RLIMIT_FSIZE},     {"RLIMIT_DATA", RLIMIT_DATA},
    {"RLIMIT_STACK", RLIMIT_STACK},   {"RLIMIT_CORE", RLIMIT_CORE},       {"RLIMIT_RSS", RLIMIT_RSS},
    {"RLIMIT_NPROC", RLIMIT_NPROC},   {"RLIMIT_NOFILE", RLIMIT_NOFILE},   {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK},
    {"RLIMIT_AS", RLIMIT_AS},         {"RLIMIT_LOCKS", RLIMIT_LOCKS},     {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
    {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE}, {"RLIMIT_NICE", RLIMIT_NICE},   {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},
    {"RLIMIT_RTTIME", RLIMIT_RTTIME},
};

static void set_rlimits(const jval *list) {
  JFOR(r, list) {
    const char *type = jstr(jget(r, "type"), "");
    int res = -1;
    for (size_t i = 0; i < sizeof rlimit_names / sizeof *rlimit_names; i++)
      if (!strcmp(type, rlimit_names[i].name)) res = rlimit_names[i].res;
    if (res < 0) fail("unknown rlimit type %s in process.rlimits", type);
    struct rlimit rl = {(rlim_t)juint(jget(r, "soft"), RLIM_INFINITY), (rlim_t)juint(jget(r, "hard"), RLIM_INFINITY)};
    if (setrlimit((__rlimit_resource_t)res, &rl) < 0) fail("setrlimit %s: %s", type, strerror(errno));
  }
}

/* Go's exec.LookPath, with its messages, so that errors read the same as runc's. */
static char *look_path(const char *file, char **env) {
  struct stat st;
  if (strchr(file, '/')) {
    if (stat(file, &st) < 0) fail("exec: \"%s\": stat %s: %s", file, file, strerror(errno));
    if (S_ISDIR(st.st_mode) || !(st.st_mode & 0111)) fail("exec: \"%s\": permission denied", file);
    return (char *)file;
  }
  const char *path = "";
  for (char **e = env; *e; e++)
    if (!strncmp(*e, "PATH=", 5)) path = *e + 5;
  while (1) {
    const char *colon = strchr(path, ':');
    size_t n = colon ? (size_t)(colon - path) : strlen(path);
    char *cand = n ? xprintf("%.*s/%s", (int)n, path, file) : xprintf("./%s", file);
    if (stat(cand, &st) == 0 && !S_ISDIR(st.st_mode) && (st.st_mode & 0111)) return cand;
    if (!colon) break;
    path = colon + 1;
  }
  fail("exec: \"%s\": executable file not found in $PATH", file);
}

static const char *home_of(unsigned uid) {
  char *pw = read_file("/etc/passwd", NULL);
  for (char *line = pw ? strtok(pw, "\n") : NULL; line; line = strtok(NULL, "\n")) {
    char *f[7] = {0};
    int k = 0;
    for (char *p = line; k < 7; k++) {
      f[k] = p;
      p = strchr(p, ':');
      if (!p) { k++; break; }
      *p++ = 0;
    }
    if (k >= 6 && f[2] && (unsigned)strtoul(f[2], NULL, 10) == uid && f[5]) return f[5];
  }
  return "/";
}

static void send_fd(int sock, int fd) {
  char dummy = 'P';
  struct iovec iov = {&dummy, 1};
  char cbuf[CMSG_SPACE(sizeof(int))];
  memset(cbuf, 0, sizeof cbuf);
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf};
  struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
  cm->cmsg_level = SOL_SOCKET;
  cm->cmsg_type = SCM_RIGHTS;
  cm->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(cm), &fd, sizeof fd);
  if (sendmsg(sock, &msg, MSG_NOSIGNAL) < 0) fail("send the terminal to the console socket: %s", strerror(errno));
}

/* A pty from the container's own devpts: the master goes to whoever listens on the console
 * socket, the slave becomes our controlling terminal and stdio, and /dev/console. */
static void setup_console(int console_fd) {
  int master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0) fail("open /dev/ptmx: %s", strerror(errno));
  int unlock = 0, ptn;
  if (ioctl(master, TIOCSPTLCK, &unlock) < 0 || ioctl(master, TIOCGPTN, &ptn) < 0) fail("unlock pty: %s", strerror(errno));
  char *slave_path = xprintf("/dev/pts/%d", ptn);
  int slave = open(slave_path, O_RDWR | O_NOCTTY);
  if (slave < 0) fail("open %s: %s", slave_path, strerror(errno));
  int cfd = open("/dev/console", O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
  if (cfd >= 0) close(cfd);
  mount(slave_path, "/dev/console", NULL, MS_BIND, NULL);
  send_fd(console_fd, master);
  close(master);
  close(console_fd);
  if (setsid() < 0 || ioctl(slave, TIOCSCTTY, 0) < 0) fail("make the pty the controlling terminal: %s", strerror(errno));
  for (int i = 0; i < 3; i++) dup2(slave, i);
  if (slave > 2) close(slave);
}

void init_main(container *c, int sock, int log_out, int log_err, int console_fd) {
  init_sock = sock;
  const jval *cfg = c->config, *proc = jget(cfg, "process");
  char err[4096] = "";
  char go;
  if (recv(sock, &go, 1, 0) != 1) _exit(1); /* the monitor went away */

  int newnet = 0, newuts = 0, newmnt = 0, userns = 0;
  JFOR(ns, jpath(cfg, "linux.namespaces")) {
    const char *type = jstr(jget(ns, "type"), ""), *path = jstr(jget(ns, "path"), NULL);
    if (!strcmp(type, "user")) userns = 1;
    if (path) {
      if (!strcmp(type, "mount")) {
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0 || setns(fd, CLONE_NEWNS) < 0) fail("join mount namespace %s: %s", path, strerror(errno));
        close(fd);
      }
      continue;
    }
    if (!strcmp(type, "network")) newnet = 1;
    if (!strcmp(type, "uts")) newuts = 1;
    if (!strcmp(type, "mount")) newmnt = 1;
    if (!strcmp(type, "cgroup") && unshare(CLONE_NEWCGROUP) < 0) fail("new cgroup namespace: %s", strerror(errno));
  }
  if (userns && (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)) fail("become root in the user namespace: %s", strerror(errno));

  /* seccomp program: read from the bundle now, installed just before execve */
  const char *sc_file = c->annotations ? jstr(jget(c->annotations, "io.tsc-compose.seccomp"), NULL) : NULL;
  if (sc_file && sc_file[0] != '/') sc_file = xprintf("%s/%s", c->bundle, sc_file);
  char *sc_prog = NULL;
  size_t sc_len = 0;
  if (sc_file && !(sc_prog = read_file(sc_file, &sc_len))) fail("seccomp program %s: %s", sc_file, strerror(errno));

  if (log_out >= 0) {
    int null = open("/dev/null", O_RDWR);
    dup2(null, 0);
    dup2(log_out, 1);
    dup2(log_err, 2);
    close(null);
    close(log_out);
    close(log_err);
  }
  const char *host = jstr(jget(cfg, "hostname"), NULL), *domain = jstr(jget(cfg, "domainname"), NULL);
  if ((host || domain) && !newuts) fail("unable to set hostname without a private UTS namespace");
  if (host && sethostname(host, strlen(host)) < 0) fail("sethostname %s: %s", host, strerror(errno));
  if (domain && setdomainname(domain, strlen(domain)) < 0) fail("setdomainname %s: %s", domain, strerror(errno));
  if (newnet) loopback_up();

  if (newmnt) {
    if (rootfs_setup(c, err, sizeof err) < 0) fail("%s", err);
  } else if (chroot(c->rootfs) < 0 || chdir("/") < 0) {
    fail("chroot %s: %s", c->rootfs, strerror(errno));
  }
  if (console_fd >= 0) setup_console(console_fd);
  if (rootfs_finalize(c, err, sizeof err) < 0) fail("%s", err);

  const jval *oom = jget(proc, "oomScoreAdj");
  if (oom && write_file("/proc/self/oom_score_adj", xprintf("%lld", jint(oom, 0))) < 0)
    fail("set oom_score_adj: %s", strerror(errno));
  set_rlimits(jget(proc, "rlimits"));

  /* user and capabilities, in runc's order */
  const jval *caps = jget(proc, "capabilities"), *user = jget(proc, "user");
  /* without no_new_privs only a process with CAP_SYS_ADMIN may install a filter: do it while we have it */
  int nnp = jbool(jget(proc, "noNewPrivileges"), 0);
  if (sc_prog && !nnp && seccomp_install(sc_prog, sc_len, err, sizeof err) < 0) fail("%s", err);
  if (caps_drop_bounding(caps, err, sizeof err) < 0) fail("%s", err);
  if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0) fail("keep capabilities: %s", strerror(errno));
  unsigned uid = (unsigned)jint(jget(user, "uid"), 0), gid = (unsigned)jint(jget(user, "gid"), 0);
  const jval *gids = jget(user, "additionalGids");
  gid_t groups[64];
  int ng = 0;
  JFOR(g, gids) if (ng < 64) groups[ng++] = (gid_t)jint(g, 0);
  if (setgroups((size_t)ng, groups) < 0) fail("setgroups: %s", strerror(errno));
  if (setresgid(gid, gid, gid) < 0) fail("setgid %u: %s", gid, strerror(errno));
  if (setresuid(uid, uid, uid) < 0) fail("setuid %u: %s", uid, strerror(errno));
  const char *cwd = jstr(jget(proc, "cwd"), "/");
  if (chdir(cwd) < 0) fail("chdir to cwd (\"%s\") set in config.json failed: %s", cwd, strerror(errno));
  prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
  if (caps_apply(caps, err, sizeof err) < 0) fail("%s", err);
  const jval *um = jget(user, "umask");
  umask(um ? (mode_t)jint(um, 022) : 022);
  if (nnp && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
    fail("no_new_privs: %s", strerror(errno));

  /* argv and environment; HOME from the image's /etc/passwd when not given */
  int argc = jlen(jget(proc, "args")), envc = jlen(jget(proc, "env")), have_home = 0;
  if (argc == 0) fail("process.args must not be empty");
  char **argv = xalloc(sizeof(char *) * (size_t)(argc + 1)), **envp = xalloc(sizeof(char *) * (size_t)(envc + 2));
  int i = 0;
  JFOR(a, jget(proc, "args")) argv[i++] = (char *)jstr(a, "");
  i = 0;
  JFOR(e, jget(proc, "env")) {
    envp[i] = (char *)jstr(e, "");
    have_home |= !strncmp(envp[i], "HOME=", 5);
    i++;
  }
  if (!have_home) envp[i++] = xprintf("HOME=%s", home_of(uid));
  char *exe = look_path(argv[0], envp);

  /* keep 0-2 and --preserve-fds; everything else closes on exec */
  syscall(SYS_close_range, 3 + c->preserve_fds, ~0U, CLOSE_RANGE_CLOEXEC);
  fcntl(sock, F_SETFD, FD_CLOEXEC);
  if (send(sock, "R", 1, MSG_NOSIGNAL) != 1) _exit(1);
  char start;
  if (recv(sock, &start, 1, 0) != 1) _exit(1);
  if (sc_prog && nnp && seccomp_install(sc_prog, sc_len, err, sizeof err) < 0) fail("%s", err);
  execve(exe, argv, envp);
  fail("exec %s: %s", argv[0], strerror(errno));
}
