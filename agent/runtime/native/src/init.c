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

/* A pty from the container's own devpts: the master goes to whoever listens on the console
 * socket, the slave becomes our controlling terminal and stdio, and /dev/console. */
static void setup_console(int console_fd, const jval *proc) {
  int master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0) fail("open /dev/ptmx: %s", strerror(errno));
  int unlock = 0, ptn;
  if (ioctl(master, TIOCSPTLCK, &unlock) < 0 || ioctl(master, TIOCGPTN, &ptn) < 0) fail("unlock pty: %s", strerror(errno));
  /* process.consoleSize: the process sees its caller's size from its first instruction */
  const jval *size = jget(proc, "consoleSize");
  if (size) {
    struct winsize ws = {(unsigned short)jint(jget(size, "height"), 0), (unsigned short)jint(jget(size, "width"), 0), 0, 0};
    if (ioctl(master, TIOCSWINSZ, &ws) < 0) fail("set the terminal size: %s", strerror(errno));
  }
  char *slave_path = xprintf("/dev/pts/%d", ptn);
  int slave = open(slave_path, O_RDWR | O_NOCTTY);
  if (slave < 0) fail("open %s: %s", slave_path, strerror(errno));
  int cfd = open("/dev/console", O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
  if (cfd >= 0) close(cfd);
  mount(slave_path, "/dev/console", NULL, MS_BIND, NULL);
  if (send_fd(console_fd, master) < 0) fail("send the terminal to the console socket: %s", strerror(errno));
  close(master);
  close(console_fd);
  if (setsid() < 0 || ioctl(slave, TIOCSCTTY, 0) < 0) fail("make the pty the controlling terminal: %s", strerror(errno));
  for (int i = 0; i < 3; i++) dup2(slave, i);
  if (slave > 2) close(slave);
}

void init_main(container *c, int sock, int log_out, int log_err, int console_fd) {
  g_fail_fd = sock;
  const jval *cfg = c->config, *proc = jget(cfg, "process");
  char err[4096] = "";
  char go;
  if (recv(sock, &go, 1, 0) != 1) _exit(1); /* 'M': user maps written; the monitor went away otherwise */
  int newcgroupns = 0;

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
    if (!strcmp(type, "cgroup")) newcgroupns = 1;
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
    dup2(c->in_r >= 0 ? c->in_r : null, 0);
    if (c->in_r >= 0) close(c->in_r);
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
  if (console_fd >= 0) setup_console(console_fd, proc);
  if (rootfs_finalize(c, err, sizeof err) < 0) fail("%s", err);

  /* 'G': we are in our cgroups; a cgroup namespace made now has them as its root */
  if (recv(sock, &go, 1, 0) != 1) _exit(1);
  if (newcgroupns && unshare(CLONE_NEWCGROUP) < 0) fail("new cgroup namespace: %s", strerror(errno));
  execplan ep;
  process_prepare(proc, sc_prog, sc_len, &ep);

  /* keep 0-2 and --preserve-fds; everything else closes on exec */
  syscall(SYS_close_range, 3 + c->preserve_fds, ~0U, CLOSE_RANGE_CLOEXEC);
  fcntl(sock, F_SETFD, FD_CLOEXEC);
  if (send(sock, "R", 1, MSG_NOSIGNAL) != 1) _exit(1);
  char start;
  if (recv(sock, &start, 1, 0) != 1) _exit(1);
  if (!strcmp(jstr(jget(c->annotations, "io.tsc-compose.init"), "false"), "true")) pid1_fork(sock);
  process_exec(&ep);
}
