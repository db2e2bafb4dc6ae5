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

#define IN_CHUNK 65536
#define OUT_MAX (1 << 20)   /* a client this far behind the terminal is dropped */
#define REPLAY_MAX 65536    /* the last bytes a terminal showed before anyone attached */

static void set_nonblock(int fd) { fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK); }

static void drop_client(monitor *m) {
  if (m->attached >= 0) close(m->attached);
  m->attached = -1;
  m->att_tty = m->att_in_done = 0;
  m->inlen = m->inoff = m->outlen = 0;
}

/* Output for the attached client: queued, then sent as far as its socket takes it now. */
static void send_pending(monitor *m) {
  while (m->outlen > 0) {
    ssize_t w = send(m->attached, m->outbuf, m->outlen, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    if (w <= 0) {
      drop_client(m);
      return;
    }
    memmove(m->outbuf, m->outbuf + w, m->outlen - (size_t)w);
    m->outlen -= (size_t)w;
  }
}

static void queue_output(monitor *m, const char *buf, size_t n) {
  if (m->outlen + n > OUT_MAX) {
    rt_log("warning", "dropping an attached client that fell %zu bytes behind the terminal", m->outlen + n);
    drop_client(m);
    return;
  }
  if (m->outlen + n > m->outcap) {
    size_t cap = m->outcap ? m->outcap : 65536;
    while (cap < m->outlen + n) cap *= 2;
    char *b = realloc(m->outbuf, cap);
    if (!b) {
      drop_client(m);
      return;
    }
    m->outbuf = b, m->outcap = cap;
  }
  memcpy(m->outbuf + m->outlen, buf, n);
  m->outlen += n;
  send_pending(m);
}

/* What the terminal showed before the first client attached, kept for an "attach start"
 * (a `run` attaches right after its start: the shell's first prompt must not be lost). */
static void keep_for_replay(monitor *m, const char *buf, size_t n) {
  if (!m->replay && !(m->replay = malloc(REPLAY_MAX))) return;
  if (n >= REPLAY_MAX) {
    memcpy(m->replay, buf + n - REPLAY_MAX, REPLAY_MAX);
    m->replaylen = REPLAY_MAX;
    return;
  }
  if (m->replaylen + n > REPLAY_MAX) {
    size_t drop = m->replaylen + n - REPLAY_MAX;
    memmove(m->replay, m->replay + drop, m->replaylen - drop);
    m->replaylen -= drop;
  }
  memcpy(m->replay + m->replaylen, buf, n);
  m->replaylen += n;
}

/* Client bytes into the container's stdin, as far as it takes them now. */
static void write_pending_input(monitor *m) {
  while (m->inoff < m->inlen) {
    if (m->in < 0) {
      m->inlen = m->inoff = 0; /* no stdin kept open: input is dropped, as Docker's attach does */
      return;
    }
    ssize_t w = write(m->in, m->inbuf + m->inoff, m->inlen - m->inoff);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    if (w <= 0) {
      m->inlen = m->inoff = 0; /* the terminal or pipe is gone: nothing can take it */
      return;
    }
    m->inoff += (size_t)w;
  }
  m->inlen = m->inoff = 0;
}

/* A new client: its first bytes after the request line are already input. */
static void take_client(monitor *m, int fd, int tty, const char *rest, size_t n) {
  if (!m->inbuf && !(m->inbuf = malloc(IN_CHUNK))) {
    reply(fd, "error out of memory\n");
    return;
  }
  m->attached = fd;
  m->att_tty = tty;
  m->att_in_done = 0;
  set_nonblock(fd);
  if (n > IN_CHUNK) n = IN_CHUNK;
  memcpy(m->inbuf, rest, n);
  m->inlen = n, m->inoff = 0;
  write_pending_input(m);
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
    if (m->in < 0 || m->attached >= 0 || m->pty >= 0) {
      reply(fd, m->pty >= 0  ? "error the container has a terminal: attach to it\n"
                : m->in < 0  ? "error stdin is not open (annotation io.tsc-compose.stdin)\n"
                             : "error stdin is attached already\n");
      return;
    }
    take_client(m, fd, 0, req + 6, (size_t)r - 6);
  } else if (!strncmp(req, "attach\n", 7) || !strncmp(req, "attach start\n", 13)) {
    /* the terminal, both ways: "ok", then its output; the client's bytes are its input (when
     * stdin is open). "attach start" also gets what it showed before the first attach. */
    if (m->pty < 0 || m->attached >= 0) {
      reply(fd, m->pty < 0 ? "error the container has no terminal kept by its monitor\n" : "error a client is attached already\n");
      return;
    }
    size_t head = req[6] == '\n' ? 7 : 13;
    if (write_all(fd, "ok\n", 3) < 0) {
      close(fd);
      return;
    }
    take_client(m, fd, 1, req + head, (size_t)r - head);
    if (head == 13 && m->replaylen > 0 && m->attached >= 0) queue_output(m, m->replay, m->replaylen);
    m->replay_done = 1;
    free(m->replay);
    m->replay = NULL;
    m->replaylen = 0;
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
  if (m->in >= 0) set_nonblock(m->in); /* a container that does not read its input never stalls us */
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
    struct pollfd fds[7];
    int nf = 0;
    fds[nf++] = (struct pollfd){sfd, POLLIN, 0};
    int ctl_i = m->ctl >= 0 ? nf : -1;
    if (ctl_i >= 0) fds[nf++] = (struct pollfd){m->ctl, POLLIN, 0};
    int out_i = m->out >= 0 ? nf : -1;
    if (out_i >= 0) fds[nf++] = (struct pollfd){m->out, POLLIN, 0};
    int err_i = m->err >= 0 ? nf : -1;
    if (err_i >= 0) fds[nf++] = (struct pollfd){m->err, POLLIN, 0};
    /* the client: read more input only once the last has gone in; write when output waits */
    int att_i = m->attached >= 0 ? nf : -1;
    if (att_i >= 0)
      fds[nf++] = (struct pollfd){m->attached, (short)((m->att_in_done || m->inlen > 0 ? 0 : POLLIN) | (m->outlen > 0 ? POLLOUT : 0)), 0};
    int in_i = m->attached >= 0 && m->inlen > 0 && m->in >= 0 ? nf : -1;
    if (in_i >= 0) fds[nf++] = (struct pollfd){m->in, POLLOUT, 0};
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
        if (*pipes[s] == m->pty && m->pty >= 0) {
          if (m->attached >= 0 && m->att_tty) queue_output(m, buf, (size_t)r);
          else if (!m->replay_done) keep_for_replay(m, buf, (size_t)r);
        }
      } else if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        /* the terminal's master is non-blocking when its input side is (the same file) */
      } else if (r == 0 || errno != EINTR) {
        if (*pipes[s] == m->pty) m->pty = -1;
        close(*pipes[s]);
        *pipes[s] = -1;
      }
    }
    if (in_i >= 0 && (fds[in_i].revents & (POLLOUT | POLLERR | POLLHUP))) write_pending_input(m);
    short ev = att_i >= 0 ? fds[att_i].revents : 0;
    if (m->attached >= 0 && (ev & POLLOUT)) send_pending(m);
    if (m->attached >= 0 && (ev & (POLLIN | POLLHUP | POLLERR)) && !m->att_in_done && m->inlen == 0) {
      ssize_t r = read(m->attached, m->inbuf, IN_CHUNK);
      if (r > 0) {
        m->inlen = (size_t)r, m->inoff = 0;
        write_pending_input(m);
      } else if (r < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)) {
      } else if (!m->att_tty) {
        /* the client is done: the container reads end of file, as with docker's stdin-once */
        drop_client(m);
        if (m->in >= 0) close(m->in);
        m->in = -1;
      } else if (r == 0 && !(ev & (POLLHUP | POLLERR))) {
        /* a terminal's client that closed only its sending side still gets the output; the
         * terminal reads end of input as a terminal says it */
        m->att_in_done = 1;
        if (m->in >= 0 && write(m->in, "\x04", 1) < 0) {}
      } else {
        drop_client(m); /* gone (detached): the terminal and its stdin stay for the next one */
      }
    } else if (m->attached >= 0 && (ev & (POLLHUP | POLLERR))) {
      /* gone with input still waiting, or after closing its sending side */
      if (!m->att_tty && m->in >= 0) close(m->in), m->in = -1;
      drop_client(m);
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
  /* what the terminal showed last still reaches the client, if it takes it within a second */
  for (long long until = monotonic_ms() + 1000; m->attached >= 0 && m->outlen > 0;) {
    long long left = until - monotonic_ms();
    struct pollfd p = {m->attached, POLLOUT, 0};
    if (left <= 0 || poll(&p, 1, (int)left) <= 0) break;
    send_pending(m);
  }
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
