/* The commands that act on an existing container through its state directory. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "rt.h"
#include "util.h"

static const struct { const char *name; int sig; } signals[] = {
    {"HUP", SIGHUP},   {"INT", SIGINT},   {"QUIT", SIGQUIT}, {"ILL", SIGILL},     {"TRAP", SIGTRAP}, {"ABRT", SIGABRT},
    {"IOT", SIGIOT},   {"BUS", SIGBUS},   {"FPE", SIGFPE},   {"KILL", SIGKILL},   {"USR1", SIGUSR1}, {"SEGV", SIGSEGV},
    {"USR2", SIGUSR2}, {"PIPE", SIGPIPE}, {"ALRM", SIGALRM}, {"TERM", SIGTERM},   {"STKFLT", SIGSTKFLT},
    {"CHLD", SIGCHLD}, {"CONT", SIGCONT}, {"STOP", SIGSTOP}, {"TSTP", SIGTSTP},   {"TTIN", SIGTTIN}, {"TTOU", SIGTTOU},
    {"URG", SIGURG},   {"XCPU", SIGXCPU}, {"XFSZ", SIGXFSZ}, {"VTALRM", SIGVTALRM}, {"PROF", SIGPROF},
    {"WINCH", SIGWINCH}, {"IO", SIGIO},   {"PWR", SIGPWR},   {"SYS", SIGSYS},
};

int signal_from_name(const char *s) {
  char *end;
  long n = strtol(s, &end, 10);
  if (*s && !*end) return n > 0 && n < 65 ? (int)n : -1;
  if (!strncasecmp(s, "SIG", 3)) s += 3;
  for (size_t i = 0; i < sizeof signals / sizeof *signals; i++)
    if (!strcasecmp(s, signals[i].name)) return signals[i].sig;
  return -1;
}

static void load(container *c, const char *root, const char *id) {
  if (state_load(c, root, id) < 0) die("container does not exist: %s", id);
}

int cmd_state(const char *root, const char *id) {
  container c;
  load(&c, root, id);
  state_print(&c, state_status(&c));
  return 0;
}

int cmd_start(const char *root, const char *id) {
  container c;
  load(&c, root, id);
  const char *st = state_status(&c);
  if (!strcmp(st, "stopped")) die("cannot start a container that has stopped");
  if (strcmp(st, "created")) die("cannot start an already running container");
  char reply[4096];
  if (ctl_request(c.statedir, "start\n", reply, sizeof reply) < 0) die_errno("reach the monitor of container %s", id);
  if (!strncmp(reply, "ok", 2)) return 0;
  die("%s", !strncmp(reply, "error ", 6) ? reply + 6 : reply);
}

static void kill_all(container *c, int sig) {
  pid_t pids[4096];
  int n = cgroups_pids(&c->cg, pids, 4096);
  for (int i = 0; i < n; i++) kill(pids[i], sig);
}

int cmd_kill(const char *root, const char *id, const char *signame, int all) {
  container c;
  load(&c, root, id);
  int sig = signal_from_name(signame ? signame : "TERM");
  if (sig < 0) die("unknown signal \"%s\"", signame);
  if (!strcmp(state_status(&c), "stopped")) die("container not running");
  if (all) kill_all(&c, sig);
  else if (kill(c.pid, sig) < 0) die_errno("kill container %s", id);
  return 0;
}

/* Waits until the monitor recorded the exit (or, without a monitor, the process is gone). */
static void wait_stopped(container *c, int ms) {
  long long deadline = monotonic_ms() + ms;
  while (monotonic_ms() < deadline) {
    int monitor_alive = c->monitor_pid > 0 && proc_starttime(c->monitor_pid) != 0; /* a zombie has finished */
    if (access(xprintf("%s/exit.json", c->statedir), F_OK) == 0 && !monitor_alive) return;
    if (!monitor_alive && !pid_alive(c->pid, c->starttime)) return;
    sleep_ms(1);
  }
}

int cmd_delete(const char *root, const char *id, int force) {
  container c;
  if (state_load(&c, root, id) < 0) {
    if (force) return 0;
    die("container does not exist: %s", id);
  }
  const char *st = state_status(&c);
  if (!strcmp(st, "running") || !strcmp(st, "paused")) {
    if (!force) die("cannot delete container %s that is not stopped: %s", id, st);
    if (!strcmp(st, "paused")) {
      char err[256];
      cgroups_freeze(&c.cg, 0, err, sizeof err);
    }
  }
  if (strcmp(st, "stopped")) {
    kill(c.pid, SIGKILL);
    kill_all(&c, SIGKILL);
  }
  wait_stopped(&c, 10000);
  /* without a pid namespace, processes the container started may outlive its first one */
  kill_all(&c, SIGKILL);
  /* poststop hooks need the config; it is read from the bundle, which may be gone by now */
  char perr[1024];
  c.config = json_parse_file(xprintf("%s/config.json", c.bundle), perr, sizeof perr);
  if (c.config && hooks_run(&c, "poststop", "stopped", perr, sizeof perr) < 0) rt_log("warning", "poststop: %s", perr);
    if (cgroups_destroy(&c.cg) < 0) rt_log("warning", "remove cgroups of %s: %s", id, strerror(errno));
  state_remove(c.statedir);
  return 0;
}

int cmd_pause(const char *root, const char *id, int pause) {
  container c;
  load(&c, root, id);
  const char *st = state_status(&c);
  if (pause && strcmp(st, "running")) die("container %s is not running: %s", id, st);
  if (!pause && strcmp(st, "paused")) die("container %s is not paused: %s", id, st);
  char err[512];
  if (cgroups_freeze(&c.cg, pause, err, sizeof err) < 0) die("%s", err);
  return 0;
}

int cmd_ps(const char *root, const char *id, int json) {
  container c;
  load(&c, root, id);
  pid_t pids[4096];
  int n = cgroups_pids(&c.cg, pids, 4096);
  if (json) {
    putchar('[');
    for (int i = 0; i < n; i++) printf("%s%d", i ? "," : "", (int)pids[i]);
    puts("]");
    return 0;
  }
  printf("PID CMD\n");
  for (int i = 0; i < n; i++) {
    char *cmd = read_file(xprintf("/proc/%d/comm", (int)pids[i]), NULL);
    if (cmd && strchr(cmd, '\n')) *strchr(cmd, '\n') = 0;
    printf("%d %s\n", (int)pids[i], cmd ? cmd : "?");
  }
  return 0;
}

int cmd_list(const char *root) {
  DIR *d = opendir(root);
  printf("ID\tPID\tSTATUS\tBUNDLE\tCREATED\tOWNER\n");
  if (!d) return 0;
  struct dirent *e;
  while ((e = readdir(d))) {
    if (e->d_name[0] == '.') continue;
    container c;
    if (state_load(&c, root, xstrdup(e->d_name)) < 0) continue;
    const char *st = state_status(&c);
    printf("%s\t%d\t%s\t%s\t%s\troot\n", c.id, strcmp(st, "stopped") ? (int)c.pid : 0, st, c.bundle, c.created);
  }
  closedir(d);
  return 0;
}

int cmd_update(const char *root, const char *id, const char *resources_json) {
  container c;
  load(&c, root, id);
  if (!strcmp(state_status(&c), "stopped")) die("container %s is stopped", id);
  char err[512];
  jval *res = json_parse(resources_json, err, sizeof err);
  if (!res) die("resources: %s", err);
  if (cgroups_apply(&c.cg, res, err, sizeof err) < 0) die("%s", err);
  return 0;
}
