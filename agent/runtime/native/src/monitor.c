/* The per-container monitor (our conmon / containerd-shim): parent and subreaper of the
 * container, owner of its output pipes and of the control socket that `start` and `wait` talk
 * to. When the container's first process exits it drains the pipes, writes exit.json (exit code,
 * signal, OOM kill) and answers every waiter. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "rt.h"
#include "util.h"

#define MAX_WAITERS 32

int exit_code_of(int st) { return WIFEXITED(st) ? WEXITSTATUS(st) : WIFSIGNALED(st) ? 128 + WTERMSIG(st) : 255; }

int monitor_start_init(monitor *m, char *err, size_t n) {
  if (m->started) {
    snprintf(err, n, "cannot start an already running container");
    return -1;
  }
  if (send(m->sock, "S", 1, MSG_NOSIGNAL) != 1) {
    snprintf(err, n, "cannot start a container that has stopped");
    return -1;
  }
  char buf[4096];
  ssize_t r;
  while ((r = recv(m->sock, buf, sizeof buf - 1, 0)) < 0 && errno == EINTR) {}
  if (r > 0) {
    buf[r] = 0;
    snprintf(err, n, "%s", buf[0] == 'E' ? buf + 1 : buf);
    return -1;
  }
  /* end of file: the socket closed on exec, so the process runs */
  m->started = 1;
  close(m->sock);
  m->sock = -1;
  write_file(xprintf("%s/started", m->c->statedir), "");
  char herr[1024];
  if (hooks_run(m->c, "poststart", "running", herr, sizeof herr) < 0) rt_log("warning", "poststart: %s", herr);
  return 0;
}

static void reply(int fd, const char *msg) {
  write_all(fd, msg, strlen(msg));
  close(fd);
}

static void serve(monitor *m, int fd, int *waiters, int *nw) {
  char req[256];
  ssize_t r = read(fd, req, sizeof req - 1);
  if (r <= 0) { close(fd); return; }
  req[r] = 0;
  if (!strncmp(req, "start", 5)) {
    char err[4096];
    if (monitor_start_init(m, err, sizeof err) < 0) reply(fd, xprintf("error %s\n", err));
    else reply(fd, "ok\n");
  } else if (!strncmp(req, "stdin\n", 6)) {
    if (m->in < 0 || m->attached >= 0) {
      reply(fd, m->in < 0 ? "error stdin is not open (annotation io.tsc-compose.stdin)\n" : "error stdin is attached already\n");
      return;
    }
    m->attached = fd;
    if (r > 6) write_all(m->in, req + 6, (size_t)r - 6);
  } else if (!strncmp(req, "resize ", 7)) {
    struct winsize ws = {0};
    unsigned rows = 0, cols = 0;
    if (m->pty < 0 || sscanf(req + 7, "%u %u", &rows, &cols) != 2) {
      reply(fd, m->pty < 0 ? "error the container has no terminal kept by its monitor\n" : "error usage: resize ROWS COLS\n");
      return;
    }
    ws.ws_row = (unsigned short)rows;
    ws.ws_col = (unsigned short)cols;
    reply(fd, ioctl(m->pty, TIOCSWINSZ, &ws) == 0 ? "ok\n" : xprintf("error resize: %s\n", strerror(errno)));
  } else if (!strncmp(req, "wait", 4) && *nw < MAX_WAITERS) {
    waiters[(*nw)++] = fd;
  } else {
    reply(fd, "error unknown request\n");
  }
}

int monitor_loop(monitor *m) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGCHLD);
  static const int forwarded[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH};
  if (m->foreground)
    for (size_t i = 0; i < sizeof forwarded / sizeof *forwarded; i++) sigaddset(&set, forwarded[i]);
  sigprocmask(SIG_BLOCK, &set, NULL);
  int sfd = signalfd(-1, &set, SFD_CLOEXEC);
  signal(SIGPIPE, SIG_IGN); /* a reader that went away is an error to handle, not a reason to die */
  jsonlog log = {0};
  if (m->c->log_path) {
    log.path = m->c->log_path;
    log.max_size = m->c->log_max_size;
    log.max_file = m->c->log_max_file;
    if (jsonlog_open(&log) < 0) rt_log("error", "open log %s: %s", log.path, strerror(errno));
  }
  int waiters[MAX_WAITERS], nw = 0, status = 0, exited = 0;
  long long drain_until = 0;
  char buf[65536];
  for (;;) {
    /* the first process may be gone already (reaped below before we got here) */
    struct pollfd fds[6];
    int nf = 0;
    fds[nf++] = (struct pollfd){sfd, POLLIN, 0};
    int ctl_i = m->ctl >= 0 ? nf : -1;
    if (ctl_i >= 0) fds[nf++] = (struct pollfd){m->ctl, POLLIN, 0};
    int out_i = m->out >= 0 ? nf : -1;
    if (out_i >= 0) fds[nf++] = (struct pollfd){m->out, POLLIN, 0};
    int err_i = m->err >= 0 ? nf : -1;
    if (err_i >= 0) fds[nf++] = (struct pollfd){m->err, POLLIN, 0};
    int att_i = m->attached >= 0 ? nf : -1;
    if (att_i >= 0) fds[nf++] = (struct pollfd){m->attached, POLLIN, 0};
    if (exited && (m->out < 0 && m->err < 0)) break;
    int timeout = -1;
    if (exited) {
      long long left = drain_until - monotonic_ms();
      if (left <= 0) break;
      timeout = (int)left;
    }
    if (poll(fds, (nfds_t)nf, timeout) < 0 && errno != EINTR) break;
    if (fds[0].revents & POLLIN) {
      struct signalfd_siginfo si;
      while (read(sfd, &si, sizeof si) == sizeof si) {
        if (si.ssi_signo != SIGCHLD) {
          kill(m->init, (int)si.ssi_signo);
          continue;
        }
        pid_t p;
        int st;
        while ((p = waitpid(-1, &st, WNOHANG)) > 0)
          if (p == m->init) status = st, exited = 1, drain_until = monotonic_ms() + 1000;
        break;
      }
    }
    int *pipes[2] = {&m->out, &m->err};
    int idx[2] = {out_i, err_i};
    for (int s = 0; s < 2; s++) {
      if (idx[s] < 0 || !(fds[idx[s]].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      ssize_t r = read(*pipes[s], buf, sizeof buf);
      if (r > 0) {
        if (log.fd > 0) jsonlog_write(&log, s, buf, (size_t)r);
      } else if (r == 0 || errno != EINTR) {
        if (*pipes[s] == m->pty) m->pty = -1;
        close(*pipes[s]);
        *pipes[s] = -1;
      }
    }
    if (att_i >= 0 && (fds[att_i].revents & (POLLIN | POLLHUP | POLLERR))) {
      ssize_t r = read(m->attached, buf, sizeof buf);
      if (r > 0 && write_all(m->in, buf, (size_t)r) == 0) {
      } else if (r == 0 || errno != EINTR) {
        /* the client is done: the container reads end of file, as with docker's stdin-once */
        close(m->attached);
        close(m->in);
        m->attached = m->in = -1;
      }
    }
    if (ctl_i >= 0 && (fds[ctl_i].revents & POLLIN)) {
      int fd = accept4(m->ctl, NULL, NULL, SOCK_CLOEXEC);
      if (fd >= 0) serve(m, fd, waiters, &nw);
    }
  }
  if (log.fd > 0) {
    jsonlog_flush(&log);
    close(log.fd);
  }
  int oom = cgroups_oom_kills(&m->c->cg) > 0;
  char ts[64];
  rfc3339_now(ts, sizeof ts);
  int code = exit_code_of(status);
  write_file_atomic(xprintf("%s/exit.json", m->c->statedir),
                    xprintf("{\"exitCode\":%d,\"signal\":%d,\"oomKilled\":%s,\"finishedAt\":\"%s\"}\n", code,
                            WIFSIGNALED(status) ? WTERMSIG(status) : 0, oom ? "true" : "false", ts));
  if (m->attached >= 0) close(m->attached);
  if (m->in >= 0) close(m->in);
  char *msg = xprintf("exit %d%s\n", code, oom ? " oom" : "");
  for (int i = 0; i < nw; i++) reply(waiters[i], msg);
  if (m->ctl >= 0) {
    close(m->ctl);
    unlink(xprintf("%s/ctl.sock", m->c->statedir));
  }
  return status;
}

/* The socket's address. A state directory deep enough to overflow sun_path (108 bytes: a long
 * --root plus a 64-hex id does) is reached through /proc/self/fd/N of an O_PATH descriptor of
 * it, which the caller closes (*dirfd) after bind or connect. */
static int ctl_addr(const char *statedir, struct sockaddr_un *sa, int *dirfd) {
  memset(sa, 0, sizeof *sa);
  sa->sun_family = AF_UNIX;
  *dirfd = -1;
  int n = snprintf(sa->sun_path, sizeof sa->sun_path, "%s/ctl.sock", statedir);
  if (n < (int)sizeof sa->sun_path) return 0;
  *dirfd = open(statedir, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (*dirfd < 0) return -1;
  snprintf(sa->sun_path, sizeof sa->sun_path, "/proc/self/fd/%d/ctl.sock", *dirfd);
  return 0;
}

/* A socket bound and listening (listening != 0) or connected to the control socket. */
static int ctl_open(const char *statedir, int listening) {
  struct sockaddr_un sa;
  int dirfd;
  if (ctl_addr(statedir, &sa, &dirfd) < 0) return -1;
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int ok = fd >= 0;
  if (ok && listening) {
    unlink(sa.sun_path);
    ok = bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0 && listen(fd, 16) == 0;
  } else if (ok) {
    ok = connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
  }
  int e = errno;
  if (dirfd >= 0) close(dirfd);
  if (!ok) {
    if (fd >= 0) close(fd);
    errno = e;
    return -1;
  }
  return fd;
}

int ctl_listen(const char *statedir) { return ctl_open(statedir, 1); }

int ctl_request(const char *statedir, const char *req, char *out, size_t n) {
  int fd = ctl_open(statedir, 0);
  if (fd < 0) return -1;
  if (write_all(fd, req, strlen(req)) < 0) {
    int e = errno;
    close(fd);
    errno = e;
    return -1;
  }
  ssize_t r = read_all(fd, out, n - 1);
  close(fd);
  if (r < 0) return -1;
  out[r] = 0;
  char *nl = strchr(out, '\n');
  if (nl) *nl = 0;
  return 0;
}
