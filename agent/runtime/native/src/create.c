/* create and run. `create` forks the monitor, which detaches (own session, stdio to /dev/null),
 * clones the container's first process into its new namespaces, writes the user maps, makes
 * the cgroups, waits for "ready" and only then tells the caller: "ok PID" or the error. The
 * caller exits at once; the monitor stays as the container's parent. `run` in the foreground
 * is the same without the fork: this process is the monitor and exits with the container. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "rt.h"
#include "util.h"

static const struct { const char *type; int flag; } ns_types[] = {
    {"pid", CLONE_NEWPID}, {"network", CLONE_NEWNET}, {"mount", CLONE_NEWNS}, {"ipc", CLONE_NEWIPC},
    {"uts", CLONE_NEWUTS}, {"user", CLONE_NEWUSER}, {"cgroup", CLONE_NEWCGROUP},
};

static int result_fd = -1; /* to the create caller, detached mode only */

/* Undo what was made, then report. */
static int failed(container *c, pid_t init, const char *msg) {
  if (init > 0) {
    kill(init, SIGKILL);
    waitpid(init, NULL, 0);
  }
  cgroups_destroy(&c->cg);
  state_remove(c->statedir);
  if (result_fd >= 0) {
    char *m = xprintf("E%s", msg);
    write_all(result_fd, m, strlen(m));
    _exit(1);
  }
  rt_log("error", "%s", msg);
  return 1;
}

static int write_maps(pid_t pid, const jval *maps, const char *file, char *err, size_t n) {
  if (!maps) return 0;
  char buf[4096];
  size_t len = 0;
  JFOR(m, maps)
  len += (size_t)snprintf(buf + len, sizeof buf - len, "%lld %lld %lld\n", jint(jget(m, "containerID"), 0),
                          jint(jget(m, "hostID"), 0), jint(jget(m, "size"), 0));
  if (write_file(xprintf("/proc/%d/%s", (int)pid, file), buf) < 0) {
    snprintf(err, n, "write %s: %s", file, strerror(errno));
    return -1;
  }
  return 0;
}

static int connect_console(const char *path, char *err, size_t n) {
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  if (strlen(path) >= sizeof sa.sun_path) {
    snprintf(err, n, "console socket path %s is too long", path);
    return -1;
  }
  strcpy(sa.sun_path, path);
  int fd = socket(AF_UNIX, SOCK_STREAM, 0); /* inherited by init, which sends the pty master */
  if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
    snprintf(err, n, "connect to console socket %s: %s", path, strerror(errno));
    return -1;
  }
  return fd;
}


/* The init process reports its failure and exits; the message may still wait in the socket
 * after our own send failed because it had gone. */
static const char *setup_failure(int sock) {
  static char msg[4096];
  ssize_t r = recv(sock, msg, sizeof msg - 1, MSG_DONTWAIT);
  /* a peer that closed with our message unread leaves ECONNRESET before its own message */
  if (r < 0 && errno == ECONNRESET) r = recv(sock, msg, sizeof msg - 1, MSG_DONTWAIT);
  if (r > 1 && msg[0] == 'E') {
    msg[r] = 0;
    return xprintf("unable to start container process: %s", msg + 1);
  }
  return "the container process exited during setup";
}

int create_container(container *c, int foreground, int start_now) {
  char err[4096] = "";
  if (mkdir(c->statedir, 0711) < 0) {
    if (errno == EEXIST) die("container with id exists: %s", c->id);
    die_errno("create state directory %s", c->statedir);
  }
  int console_fd = -1, own_pty = -1;
  if (jbool(jpath(c->config, "process.terminal"), 0)) {
    if (c->console_socket) {
      if ((console_fd = connect_console(c->console_socket, err, sizeof err)) < 0) return failed(c, 0, err);
    } else if (c->log_path) {
      /* no one to hand the terminal to: the monitor keeps it and logs what it shows */
      int cs[2];
      if (socketpair(AF_UNIX, SOCK_STREAM, 0, cs) < 0) return failed(c, 0, xprintf("socketpair: %s", strerror(errno)));
      console_fd = cs[1];
      own_pty = cs[0];
      fcntl(own_pty, F_SETFD, FD_CLOEXEC);
    } else if (!foreground) {
      return failed(c, 0, "cannot allocate tty if tsc-runtime will detach without setting console socket");
    }
  }
  int out[2] = {-1, -1}, errp[2] = {-1, -1};
  if (c->log_path && (pipe2(out, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0))
    return failed(c, 0, xprintf("pipe: %s", strerror(errno)));
  c->in_r = c->in_w = -1;
  /* stdin kept open: a pipe, or with a terminal the monitor keeps, that terminal's master */
  int open_stdin = c->log_path && !strcmp(jstr(jget(c->annotations, "io.tsc-compose.stdin"), "false"), "true");
  if (open_stdin && own_pty < 0) {
    int in[2];
    if (pipe2(in, O_CLOEXEC) < 0) return failed(c, 0, xprintf("pipe: %s", strerror(errno)));
    c->in_r = in[0], c->in_w = in[1];
  }

  pid_t caller = getpid();
  if (!foreground) {
    int rp[2];
    if (pipe2(rp, O_CLOEXEC) < 0) die_errno("pipe");
    pid_t mon = fork();
    if (mon < 0) die_errno("fork the monitor");
    if (mon > 0) {
      close(rp[1]);
      char buf[4096];
      ssize_t r = read_all(rp[0], buf, sizeof buf - 1);
      buf[r > 0 ? r : 0] = 0;
      if (r > 1 && buf[0] == 'O') {
        if (c->pid_file && write_file_atomic(c->pid_file, buf + 1) < 0) die_errno("write pid file %s", c->pid_file);
        return 0;
      }
      waitpid(mon, NULL, 0);
      state_remove(c->statedir);
      rt_log("error", "%s", r > 1 ? buf + 1 : "the container monitor exited before the container was created");
      return 1;
    }
    close(rp[0]);
    result_fd = rp[1];
    setsid();
  }
  (void)caller;
  prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  sigprocmask(SIG_BLOCK, &chld, NULL);

  /* namespaces: new ones are clone flags; given paths are joined here (mount: by init) */
  int flags = 0;
  JFOR(ns, jpath(c->config, "linux.namespaces")) {
    const char *type = jstr(jget(ns, "type"), ""), *path = jstr(jget(ns, "path"), NULL);
    int f = 0;
    for (size_t i = 0; i < sizeof ns_types / sizeof *ns_types; i++)
      if (!strcmp(type, ns_types[i].type)) f = ns_types[i].flag;
    if (!f) return failed(c, 0, xprintf("linux.namespaces: unknown namespace type \"%s\"", type));
    if (!path) {
      if (f != CLONE_NEWCGROUP) flags |= f;
      continue;
    }
    if (f == CLONE_NEWNS) continue;
    if (f == CLONE_NEWUSER) return failed(c, 0, "joining an existing user namespace is not supported");
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || setns(fd, f) < 0) return failed(c, 0, xprintf("join %s namespace %s: %s", type, path, strerror(errno)));
    close(fd);
  }

  if (cgroups_create(c, err, sizeof err) < 0) return failed(c, 0, err);
  int sp[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0) return failed(c, 0, xprintf("socketpair: %s", strerror(errno)));
  pid_t init = (pid_t)syscall(SYS_clone, (unsigned long)flags | SIGCHLD, NULL, NULL, NULL, NULL);
  if (init < 0) {
    const char *hint = errno == EINVAL || errno == EPERM ? " (is the namespace type supported and allowed here?)" : "";
    return failed(c, 0, xprintf("clone the container process: %s%s", strerror(errno), hint));
  }
  if (init == 0) {
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    close(sp[0]);
    if (result_fd >= 0) close(result_fd);
    if (out[0] >= 0) close(out[0]), close(errp[0]);
    if (own_pty >= 0) close(own_pty);
    if (c->in_w >= 0) close(c->in_w);
    init_main(c, sp[1], out[1], errp[1], console_fd);
  }
  close(sp[1]);
  if (out[1] >= 0) close(out[1]), close(errp[1]);
  if (c->in_r >= 0) close(c->in_r);
  if (console_fd >= 0) close(console_fd);

  if (flags & CLONE_NEWUSER) {
    if (write_maps(init, jpath(c->config, "linux.uidMappings"), "uid_map", err, sizeof err) < 0 ||
        write_maps(init, jpath(c->config, "linux.gidMappings"), "gid_map", err, sizeof err) < 0)
      return failed(c, init, err);
  }
  /* Moving a task between v1 cgroups waits for an RCU grace period (milliseconds): let the
   * process build its file system meanwhile, and join before it may report ready. */
  if (send(sp[0], "M", 1, MSG_NOSIGNAL) != 1) return failed(c, init, setup_failure(sp[0]));
  if (cgroups_join(c, init, err, sizeof err) < 0) return failed(c, init, err);
  c->pid = init;
  if (hooks_run(c, "prestart", "creating", err, sizeof err) < 0 || hooks_run(c, "createRuntime", "creating", err, sizeof err) < 0)
    return failed(c, init, xprintf("error running hook: %s", err));
  if (send(sp[0], "G", 1, MSG_NOSIGNAL) != 1) return failed(c, init, setup_failure(sp[0]));
  char msg[4096];
  ssize_t r;
  while ((r = recv(sp[0], msg, sizeof msg - 1, 0)) < 0 && errno == EINTR) {}
  if (r <= 0) return failed(c, init, setup_failure(sp[0]));
  msg[r] = 0;
  if (msg[0] == 'E') return failed(c, init, xprintf("unable to start container process: %s", msg + 1));

  int term_in = -1;
  if (own_pty >= 0) {
    int master = recv_fd(own_pty);
    close(own_pty);
    if (master < 0) return failed(c, init, "receive the container's terminal");
    /* the terminal carries both streams; the pipes stay unused */
    close(out[0]);
    out[0] = master;
    if (open_stdin && (term_in = fcntl(master, F_DUPFD_CLOEXEC, 0)) < 0) return failed(c, init, xprintf("dup: %s", strerror(errno)));
  }
  c->pid = init;
  c->starttime = proc_starttime(init);
  c->monitor_pid = getpid();
  rfc3339_now(c->created, sizeof c->created);
  if (state_write(c) < 0) return failed(c, init, xprintf("write state: %s", strerror(errno)));
  monitor m = {.c = c, .init = init, .sock = sp[0], .out = out[0], .err = errp[0], .in = own_pty >= 0 ? term_in : c->in_w,
               .attached = -1, .pty = own_pty >= 0 ? out[0] : -1, .ctl = -1, .foreground = foreground};
  if (start_now && monitor_start_init(&m, err, sizeof err) < 0) return failed(c, init, err);
  if (!foreground) {
    if ((m.ctl = ctl_listen(c->statedir)) < 0) return failed(c, init, xprintf("control socket: %s", strerror(errno)));
    char *ok = xprintf("O%d", (int)init);
    write_all(result_fd, ok, strlen(ok));
    close(result_fd);
    result_fd = -1;
    int null = open("/dev/null", O_RDWR);
    for (int i = 0; i < 3; i++) dup2(null, i);
    if (null > 2) close(null);
    if (chdir("/") < 0) {}
    int st = monitor_loop(&m);
    _exit(exit_code_of(st) & 0xff);
  }
  if (c->pid_file) write_file_atomic(c->pid_file, xprintf("%d", (int)init));
  int st = monitor_loop(&m);
  return exit_code_of(st);
}
