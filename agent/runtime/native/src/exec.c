/* exec: a new process in a running container. It joins the container's cgroups and namespaces
 * (those that differ from ours, the user namespace first), forks once more so the pid namespace
 * applies, and then sets the process up exactly as the first one was: same capabilities,
 * no_new_privs, seccomp, rlimits, user, unless the command line or --process says otherwise. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "rt.h"
#include "util.h"

static jval *jnew(jtype t, const char *key, const char *str) {
  jval *v = xalloc(sizeof *v);
  v->t = t;
  v->key = key ? xstrdup(key) : NULL;
  v->str = str ? xstrdup(str) : NULL;
  return v;
}

/* Sets obj[key] = v (replacing an existing member). */
static void jset(jval *obj, const char *key, jval *v) {
  v->key = xstrdup(key);
  jval **pp = &obj->child;
  for (; *pp; pp = &(*pp)->next)
    if (!strcmp((*pp)->key, key)) {
      v->next = (*pp)->next;
      *pp = v;
      return;
    }
  *pp = v;
}

static jval *str_array(char **items, int n) {
  jval *a = jnew(J_ARR, NULL, NULL), **tail = &a->child;
  for (int i = 0; i < n; i++) {
    *tail = jnew(J_STR, NULL, items[i]);
    tail = &(*tail)->next;
  }
  return a;
}

static const struct { const char *name; int flag; } nss[] = {
    {"user", CLONE_NEWUSER}, {"ipc", CLONE_NEWIPC}, {"uts", CLONE_NEWUTS}, {"net", CLONE_NEWNET},
    {"pid", CLONE_NEWPID},   {"cgroup", CLONE_NEWCGROUP}, {"mnt", CLONE_NEWNS},
};

/* Copies our stdin to the terminal and the terminal to our stdout until the process is gone;
 * our own terminal, if any, goes raw meanwhile and lends its size. With a size fd (a caller
 * driving us with pipes, which have no size), each "ROWS COLS" line read there resizes the
 * terminal; the kernel then sends SIGWINCH to its foreground process group. */
static void resize_from(int fd, int master) {
  char line[64];
  ssize_t r = read(fd, line, sizeof line - 1);
  if (r <= 0) return;
  line[r] = 0;
  /* the last complete "ROWS COLS" of what came */
  char *end = strrchr(line, '\n');
  if (!end) return;
  *end = 0;
  char *start = strrchr(line, '\n');
  start = start ? start + 1 : line;
  unsigned rows = 0, cols = 0;
  if (sscanf(start, "%u %u", &rows, &cols) == 2) {
    struct winsize ws = {(unsigned short)rows, (unsigned short)cols, 0, 0};
    ioctl(master, TIOCSWINSZ, &ws);
  }
}

static void relay(int master, int size_fd) {
  struct termios saved;
  int raw = isatty(0) && tcgetattr(0, &saved) == 0;
  if (raw) {
    struct termios t = saved;
    cfmakeraw(&t);
    tcsetattr(0, TCSANOW, &t);
    struct winsize ws;
    if (ioctl(0, TIOCGWINSZ, &ws) == 0) ioctl(master, TIOCSWINSZ, &ws);
  }
  char buf[8192];
  int in_open = 1;
  for (;;) {
    struct pollfd p[3] = {{master, POLLIN, 0}, {in_open ? 0 : -1, POLLIN, 0}, {size_fd, POLLIN, 0}};
    if (poll(p, 3, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (p[0].revents) {
      ssize_t r = read(master, buf, sizeof buf);
      if (r <= 0) break; /* EIO: the last holder of the terminal is gone */
      write_all(1, buf, (size_t)r);
    }
    if (size_fd >= 0 && p[2].revents) {
      if (p[2].revents & POLLIN) resize_from(size_fd, master);
      else size_fd = -1; /* the caller closed it: sizes stay */
    }
    if (p[1].revents) {
      ssize_t r = read(0, buf, sizeof buf);
      if (r <= 0) {
        in_open = 0;
        write_all(master, "\x04", 1); /* end of input, as a terminal says it */
      } else {
        write_all(master, buf, (size_t)r);
      }
    }
  }
  if (raw) tcsetattr(0, TCSANOW, &saved);
}

int cmd_exec(const char *root, int argc, char **argv) {
  const char *process_file = NULL, *cwd = NULL, *user = NULL, *pid_file = NULL;
  char *envs[256];
  int nenv = 0, detach = 0, tty = 0, i = 0, size_fd = -1;
  struct winsize first_size = {0, 0, 0, 0};
  for (; i < argc && argv[i][0] == '-'; i++) {
    const char *a = argv[i];
    const char *val = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "--process") || !strcmp(a, "-p")) process_file = val, i++;
    else if (!strcmp(a, "--cwd")) cwd = val, i++;
    else if (!strcmp(a, "--user") || !strcmp(a, "-u")) user = val, i++;
    else if (!strcmp(a, "--env") || !strcmp(a, "-e")) { if (val && nenv < 256) envs[nenv++] = (char *)val; i++; }
    else if (!strcmp(a, "--pid-file")) pid_file = val, i++;
    else if (!strcmp(a, "--detach") || !strcmp(a, "-d")) detach = 1;
    else if (!strcmp(a, "--tty") || !strcmp(a, "-t")) tty = 1;
    else if (!strcmp(a, "--tty-size-fd")) size_fd = val ? atoi(val) : -1, i++;
    else if (!strcmp(a, "--tty-size")) { /* ROWS,COLS: set before the process starts */
      unsigned rows = 0, cols = 0;
      if (!val || sscanf(val, "%u,%u", &rows, &cols) != 2) die("--tty-size wants ROWS,COLS");
      first_size.ws_row = (unsigned short)rows, first_size.ws_col = (unsigned short)cols;
      i++;
    }
    else if (!strcmp(a, "--")) { i++; break; }
    else die("unknown flag %s for exec", a);
    if (i >= argc) die("flag %s needs a value", a);
  }
  /* the size channel is ours: the process in the container must not inherit it */
  if (size_fd >= 0 && fcntl(size_fd, F_SETFD, FD_CLOEXEC) < 0) die_errno("--tty-size-fd %d", size_fd);
  if (i >= argc) die("exec: container id is required");
  const char *id = argv[i++];
  container c;
  if (state_load(&c, root, id) < 0) die("container does not exist: %s", id);
  const char *st = state_status(&c);
  if (strcmp(st, "running")) die("cannot exec in a %s container", st);

  char err[1024];
  c.config = json_parse_file(xprintf("%s/config.json", c.bundle), err, sizeof err);
  if (!c.config) die("%s", err);
  jval *proc = jget(c.config, "process");
  if (process_file) {
    proc = json_parse_file(process_file, err, sizeof err);
    if (!proc) die("%s", err);
  } else {
    if (i >= argc) die("exec: a command is required (or --process FILE)");
    jset(proc, "args", str_array(argv + i, argc - i));
    if (cwd) jset(proc, "cwd", jnew(J_STR, NULL, cwd));
    if (nenv) {
      jval *env = jget(proc, "env");
      if (!env) jset(proc, "env", env = jnew(J_ARR, NULL, NULL));
      jval **tail = &env->child;
      while (*tail) tail = &(*tail)->next;
      for (int k = 0; k < nenv; k++) {
        *tail = jnew(J_STR, NULL, envs[k]);
        tail = &(*tail)->next;
      }
    }
    if (user) {
      jval *u = jnew(J_OBJ, NULL, NULL);
      const char *colon = strchr(user, ':');
      jset(u, "uid", jnew(J_NUM, NULL, colon ? xstrndup(user, (size_t)(colon - user)) : user));
      jset(u, "gid", jnew(J_NUM, NULL, colon ? colon + 1 : "0"));
      jset(proc, "user", u);
    }
  }
  const char *sc_file = jstr(jget(jget(c.config, "annotations"), "io.tsc-compose.seccomp"), NULL);
  if (sc_file && sc_file[0] != '/') sc_file = xprintf("%s/%s", c.bundle, sc_file);
  size_t sc_len = 0;
  char *sc_prog = sc_file ? read_file(sc_file, &sc_len) : NULL;
  if (sc_file && !sc_prog) die_errno("seccomp program %s", sc_file);

  /* namespaces of the container that are not ours, opened before we move */
  int fds[8], flags[8], n = 0;
  for (size_t k = 0; k < sizeof nss / sizeof *nss; k++) {
    struct stat theirs, mine;
    char *p = xprintf("/proc/%d/ns/%s", (int)c.pid, nss[k].name);
    if (stat(p, &theirs) < 0 || (stat(xprintf("/proc/self/ns/%s", nss[k].name), &mine) == 0 && theirs.st_ino == mine.st_ino)) continue;
    if ((fds[n] = open(p, O_RDONLY | O_CLOEXEC)) < 0) die_errno("open %s", p);
    flags[n++] = nss[k].flag;
  }
  int sp[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0) die_errno("socketpair");
  int tp[2] = {-1, -1}; /* the pty master comes back through here */
  if (tty && detach) die("exec --tty --detach is not supported (no console socket for exec yet)");
  if (tty && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, tp) < 0) die_errno("socketpair");
  pid_t child = fork();
  if (child < 0) die_errno("fork");
  if (child == 0) {
    close(sp[0]);
    if (tty) close(tp[0]);
    g_fail_fd = sp[1];
    for (int k = 0; k < c.cg.n; k++)
      if (write_file(xprintf("%s/cgroup.procs", c.cg.dir[k]), xprintf("%d", (int)getpid())) < 0)
        fail("join cgroup %s: %s", c.cg.dir[k], strerror(errno));
    for (int k = 0; k < n; k++)
      if (setns(fds[k], flags[k]) < 0) fail("join namespace %d of %s: %s", flags[k], id, strerror(errno));
    pid_t inner = fork(); /* the pid namespace applies to children */
    if (inner < 0) fail("fork: %s", strerror(errno));
    if (inner > 0) {
      if (pid_file) write_file(pid_file, xprintf("%d", (int)inner));
      char dummy;
      /* the inner process's copy of the socket closes on exec: then we are done */
      close(sp[1]);
      if (tty) close(tp[1]);
      (void)dummy;
      if (detach) _exit(0);
      int status;
      while (waitpid(inner, &status, 0) < 0 && errno == EINTR) {}
      _exit(exit_code_of(status));
    }
    if (tty) {
      /* a pty of the container's own devpts; our caller relays it */
      char perr[512];
      int slave, master = open_pty(&slave, perr, sizeof perr);
      if (master < 0) fail("%s", perr);
      if (first_size.ws_row && first_size.ws_col) ioctl(slave, TIOCSWINSZ, &first_size);
      if (send_fd(tp[1], master) < 0) fail("pass the terminal: %s", strerror(errno));
      close(master);
      close(tp[1]);
      if (setsid() < 0 || ioctl(slave, TIOCSCTTY, 0) < 0) fail("make the pty the controlling terminal: %s", strerror(errno));
      for (int k = 0; k < 3; k++) dup2(slave, k);
      if (slave > 2) close(slave);
    }
    execplan ep;
    process_prepare(proc, sc_prog, sc_len, &ep);
    process_exec(&ep);
  }
  close(sp[1]);
  int master = -1;
  if (tty) {
    close(tp[1]);
    master = recv_fd(tp[0]);
    close(tp[0]);
  }
  char msg[4096];
  ssize_t r;
  while ((r = recv(sp[0], msg, sizeof msg - 1, 0)) < 0 && errno == EINTR) {}
  if (r > 0) {
    msg[r] = 0;
    waitpid(child, NULL, 0);
    die("exec failed: unable to start container process: %s", msg[0] == 'E' ? msg + 1 : msg);
  }
  if (master >= 0) relay(master, size_fd);
  int status;
  signal(SIGINT, SIG_IGN);
  while (waitpid(child, &status, 0) < 0 && errno == EINTR) {}
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
