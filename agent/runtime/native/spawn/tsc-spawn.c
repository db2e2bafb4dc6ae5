/*
 * tsc-spawn: a tiny long-lived process that starts programs for the agent.
 *
 * Why: Node's child_process.spawn forks the whole agent and then blocks its event loop until the
 * child has exec'd; under load that is ~10 ms of a stalled loop per `ip`/`nft`/`mount`/runtime
 * call. This process is small, so its fork is cheap, and the agent only writes a request.
 *
 * Protocol on stdin/stdout, native byte order, one frame each way per program:
 *   request:  u32 len, u32 id, u32 argc, u32 inlen, u32 flags, cwd NUL, argc x (arg NUL),
 *             inlen bytes of stdin; flags bit 0: stdin, stdout and stderr on /dev/null (for a
 *             program that leaves a process behind holding them, like a runtime's `create`)
 *   response: u32 len, u32 id, i32 status, u32 outlen, u32 errlen, stdout bytes, stderr bytes
 * `len` counts the bytes after itself; an empty cwd keeps ours; status is the exit code, or
 * 128 + signal. A program that cannot be started exits 127 with the reason on its stderr.
 * Requests run concurrently; stdin EOF ends the helper once its programs are done.
 *
 * Built-ins: an argv[0] starting with '@' is never exec'd. The request's forked child runs it
 * with the request's stdin bytes as its input (already in its memory: nothing is piped) and
 * exits with its status; an unknown one is "cannot run" (127). `@links` (links.c) carries out
 * a container's network link ops with rtnetlink and libnftables instead of ~6 programs;
 * `@mount TYPE SOURCE OPTIONS TARGET` and `@umount TARGET` are mount(2) and umount2(2) (a
 * container's root filesystem), with mount(8)'s kind of message, instead of exec'ing it.
 * `@nft [-j]` is the exception: the host's nft commands (its stdin bytes) run in this process,
 * through one libnftables context kept open (links.c says why), answered at once; "cannot run"
 * (127) when libnftables cannot be loaded, so that the caller runs `nft` instead.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "links.h"

struct buf {
  char *p;
  size_t len, cap;
};

struct job {
  uint32_t id;
  pid_t pid;
  int in, out, err; /* -1 once closed */
  char *input;
  size_t inlen, inoff;
  struct buf o, e;
  struct job *next;
};

static struct job *jobs;

/* `@mount TYPE SOURCE OPTIONS TARGET` / `@umount TARGET` in the request's child (its cwd set). */
static int builtin_mount(char **argv, uint32_t argc) {
  if (strcmp(argv[0], "@mount") == 0) {
    if (argc != 5) return dprintf(2, "@mount: expected TYPE SOURCE OPTIONS TARGET\n"), 2;
    if (mount(argv[2], argv[4], argv[1], 0, argv[3]) == 0) return 0;
    dprintf(2, "mount: %s: %s\n", argv[4], strerror(errno));
    return 32;
  }
  if (argc != 2) return dprintf(2, "@umount: expected TARGET\n"), 2;
  if (umount2(argv[1], 0) == 0) return 0;
  dprintf(2, "umount: %s: %s\n", argv[1], strerror(errno));
  return 32;
}

static void die(const char *what) {
  fprintf(stderr, "tsc-spawn: %s: %s\n", what, strerror(errno));
  exit(1);
}

static void grow(struct buf *b, size_t need) {
  if (b->len + need <= b->cap) return;
  size_t cap = b->cap ? b->cap : 4096;
  while (cap < b->len + need) cap *= 2;
  b->p = realloc(b->p, cap);
  if (!b->p) die("realloc");
  b->cap = cap;
}

static void write_all(int fd, const void *p, size_t n) {
  const char *c = p;
  while (n > 0) {
    ssize_t w = write(fd, c, n);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) die("write response");
    c += w;
    n -= (size_t)w;
  }
}

static void respond(struct job *j, int status) {
  uint32_t head[5] = {(uint32_t)(16 + j->o.len + j->e.len), j->id, (uint32_t)status, (uint32_t)j->o.len, (uint32_t)j->e.len};
  write_all(1, head, sizeof head);
  if (j->o.len) write_all(1, j->o.p, j->o.len);
  if (j->e.len) write_all(1, j->e.p, j->e.len);
}

/* `@nft [-j]`, answered at once from this process (links.c: links_nft_local). */
static void nft_here(uint32_t id, char **argv, uint32_t argc, const char *input, uint32_t inlen) {
  struct job j = {.id = id};
  const char *out = "", *err;
  int json = argc == 2 && strcmp(argv[1], "-j") == 0;
  int status;
  if (argc > 2 || (argc == 2 && !json)) {
    status = 2;
    err = "@nft: expected [-j]\n";
  } else if ((status = links_nft_local(input, inlen, json, &out, &err)) < 0) {
    status = 127;
    out = "";
    err = "cannot run @nft: libnftables cannot be loaded\n";
  }
  j.o.p = (char *)out;
  j.o.len = strlen(out);
  j.e.p = (char *)err;
  j.e.len = strlen(err);
  respond(&j, status);
}

static void start(const char *frame, size_t len) {
  uint32_t id, argc, inlen, flags;
  if (len < 16) return;
  memcpy(&id, frame, 4);
  memcpy(&argc, frame + 4, 4);
  memcpy(&inlen, frame + 8, 4);
  memcpy(&flags, frame + 12, 4);
  const char *p = frame + 16, *end = frame + len - inlen;
  int devnull = (flags & 1) != 0;
  const char *cwd = p;
  p += strlen(p) + 1;
  char **argv = calloc(argc + 1, sizeof *argv);
  if (!argv) die("calloc");
  for (uint32_t i = 0; i < argc && p < end; i++) {
    argv[i] = (char *)p;
    p += strlen(p) + 1;
  }
  int builtin = argv[0] && argv[0][0] == '@';
  if (builtin && strcmp(argv[0], "@nft") == 0) {
    nft_here(id, argv, argc, end, inlen);
    free(argv);
    return;
  }
  if (builtin && strcmp(argv[0], "@links") == 0) links_preload();
  struct job *j = calloc(1, sizeof *j);
  if (!j) die("calloc");
  j->id = id;
  int pin[2] = {-1, -1}, pout[2] = {-1, -1}, perr[2] = {-1, -1};
  pid_t pid = -1;
  if (devnull) {
    int fd = open("/dev/null", O_RDWR | O_CLOEXEC);
    pin[0] = pout[1] = perr[1] = fd;
    if (fd >= 0) pid = fork();
  } else if (pipe2(pin, O_CLOEXEC) == 0 && pipe2(pout, O_CLOEXEC) == 0 && pipe2(perr, O_CLOEXEC) == 0) {
    pid = fork();
  }
  if (pid < 0) {
    /* Out of descriptors or processes: this program fails, the others go on. */
    char msg[256];
    snprintf(msg, sizeof msg, "cannot run %s: %s\n", argv[0] ? argv[0] : "(nothing)", strerror(errno));
    j->e.p = strdup(msg);
    j->e.len = j->e.p ? strlen(msg) : 0;
    respond(j, 127);
    int fds[] = {pin[0], pin[1], pout[0], pout[1], perr[0], perr[1]};
    for (int i = 0; i < 6; i++) {
      int dup_of_earlier = 0;
      for (int k = 0; k < i; k++) dup_of_earlier |= fds[k] == fds[i];
      if (fds[i] >= 0 && !dup_of_earlier) close(fds[i]);
    }
    free(j->e.p);
    free(j);
    free(argv);
    return;
  }
  if (pid == 0) {
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    signal(SIGPIPE, SIG_DFL);
    dup2(pin[0], 0);
    dup2(pout[1], 1);
    dup2(perr[1], 2);
    if (cwd[0] && chdir(cwd) < 0) {
      dprintf(2, "cannot run %s: chdir %s: %s\n", argv[0] ? argv[0] : "", cwd, strerror(errno));
      _exit(127);
    }
    if (builtin) {
      if (strcmp(argv[0], "@links") == 0) _exit(links_run(end, inlen));
      if (strcmp(argv[0], "@mount") == 0 || strcmp(argv[0], "@umount") == 0) _exit(builtin_mount(argv, argc));
      dprintf(2, "cannot run %s: no such built-in\n", argv[0]);
      _exit(127);
    }
    if (argv[0]) execvp(argv[0], argv);
    dprintf(2, "cannot run %s: %s\n", argv[0] ? argv[0] : "(nothing)", strerror(errno));
    _exit(127);
  }
  free(argv);
  close(pin[0]);
  if (!devnull) {
    close(pout[1]);
    close(perr[1]);
  }
  j->pid = pid;
  j->in = pin[1];
  j->out = pout[0];
  j->err = perr[0];
  if (devnull) {
    j->next = jobs;
    jobs = j;
    return;
  }
  fcntl(j->in, F_SETFL, O_NONBLOCK);
  fcntl(j->out, F_SETFL, O_NONBLOCK);
  fcntl(j->err, F_SETFL, O_NONBLOCK);
  if (inlen > 0 && !builtin) {
    j->input = malloc(inlen);
    if (!j->input) die("malloc");
    memcpy(j->input, end, inlen);
    j->inlen = inlen;
  } else {
    close(j->in);
    j->in = -1;
  }
  j->next = jobs;
  jobs = j;
}

/* Read what is there; close at EOF or error. */
static void drain(int *fd, struct buf *b) {
  for (;;) {
    grow(b, 65536);
    ssize_t r = read(*fd, b->p + b->len, b->cap - b->len);
    if (r > 0) {
      b->len += (size_t)r;
      continue;
    }
    if (r < 0 && errno == EINTR) continue;
    if (r < 0 && errno == EAGAIN) return;
    close(*fd);
    *fd = -1;
    return;
  }
}

static void feed(struct job *j) {
  while (j->inoff < j->inlen) {
    ssize_t w = write(j->in, j->input + j->inoff, j->inlen - j->inoff);
    if (w > 0) {
      j->inoff += (size_t)w;
      continue;
    }
    if (w < 0 && errno == EINTR) continue;
    if (w < 0 && errno == EAGAIN) return;
    break; /* EPIPE: the program does not want the rest */
  }
  close(j->in);
  j->in = -1;
}

/* Programs whose pipes are all closed: collect their exit and answer. */
static int reap(void) {
  int waiting = 0;
  for (struct job **pp = &jobs; *pp;) {
    struct job *j = *pp;
    if (j->in >= 0 || j->out >= 0 || j->err >= 0) {
      pp = &j->next;
      continue;
    }
    int st;
    pid_t r = waitpid(j->pid, &st, WNOHANG);
    if (r == 0) {
      waiting = 1;
      pp = &j->next;
      continue;
    }
    int status = r < 0 ? 255 : WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    respond(j, status);
    *pp = j->next;
    free(j->input);
    free(j->o.p);
    free(j->e.p);
    free(j);
  }
  return waiting;
}

int main(void) {
  signal(SIGPIPE, SIG_IGN);
  /*
   * A child's pipes close before it can be reaped: SIGCHLD (through a signalfd) says when it
   * can, instead of polling every 2 ms (which cost up to 2 ms of every program's answer).
   */
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  sigprocmask(SIG_BLOCK, &chld, NULL);
  int sfd = signalfd(-1, &chld, SFD_NONBLOCK | SFD_CLOEXEC);
  struct buf req = {0};
  int open_in = 1;
  struct pollfd *fds = NULL;
  struct job **owner = NULL;
  size_t nfds_cap = 0;
  for (;;) {
    int waiting = reap();
    if (!open_in && !jobs) return 0;
    size_t n = 2;
    for (struct job *j = jobs; j; j = j->next) n += 3;
    if (n > nfds_cap) {
      nfds_cap = n * 2;
      fds = realloc(fds, nfds_cap * sizeof *fds);
      owner = realloc(owner, nfds_cap * sizeof *owner);
      if (!fds || !owner) die("realloc");
    }
    /* Only open descriptors: poll refuses more entries than RLIMIT_NOFILE. */
    size_t k = 0;
    fds[k++] = (struct pollfd){.fd = open_in ? 0 : -1, .events = POLLIN};
    fds[k++] = (struct pollfd){.fd = sfd, .events = POLLIN};
    for (struct job *j = jobs; j; j = j->next) {
      if (j->in >= 0) owner[k] = j, fds[k++] = (struct pollfd){.fd = j->in, .events = POLLOUT};
      if (j->out >= 0) owner[k] = j, fds[k++] = (struct pollfd){.fd = j->out, .events = POLLIN};
      if (j->err >= 0) owner[k] = j, fds[k++] = (struct pollfd){.fd = j->err, .events = POLLIN};
    }
    /* Without a signalfd, a program that closed its pipes but has not exited yet: look again soon. */
    if (poll(fds, k, waiting && sfd < 0 ? 2 : -1) < 0) {
      if (errno == EINTR) continue;
      die("poll");
    }
    if (fds[1].revents) {
      struct signalfd_siginfo si;
      while (read(sfd, &si, sizeof si) > 0) {
      }
    }
    for (size_t i = 2; i < k; i++) {
      if (!fds[i].revents) continue;
      struct job *j = owner[i];
      if (fds[i].fd == j->in) feed(j);
      else if (fds[i].fd == j->out) drain(&j->out, &j->o);
      else if (fds[i].fd == j->err) drain(&j->err, &j->e);
    }
    if (open_in && fds[0].revents) {
      grow(&req, 65536);
      ssize_t r = read(0, req.p + req.len, req.cap - req.len);
      if (r < 0 && errno != EINTR) die("read request");
      if (r == 0) open_in = 0;
      if (r > 0) req.len += (size_t)r;
      size_t off = 0;
      while (req.len - off >= 4) {
        uint32_t len;
        memcpy(&len, req.p + off, 4);
        if (req.len - off - 4 < len) break;
        start(req.p + off + 4, len);
        off += 4 + len;
      }
      memmove(req.p, req.p + off, req.len - off);
      req.len -= off;
    }
  }
}
