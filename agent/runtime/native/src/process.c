/* The process itself, for the container's first process and for exec: limits, user, groups,
 * capabilities in runc's order, no_new_privs, seccomp, environment and the executable's path
 * (looked up the way Go's exec.LookPath does, with its messages). Failures go to g_fail_fd. */
#define _GNU_SOURCE
#include <errno.h>
#include <grp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rt.h"
#include "util.h"

int g_fail_fd = -1;

void fail(const char *fmt, ...) {
  char msg[4096];
  msg[0] = 'E';
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg + 1, sizeof msg - 1, fmt, ap);
  va_end(ap);
  if (g_fail_fd >= 0) send(g_fail_fd, msg, strlen(msg), MSG_NOSIGNAL);
  else fprintf(stderr, "%s: %s\n", RT_NAME, msg + 1);
  _exit(127);
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
    if (setrlimit((__rlimit_resource_t)res, &rl) < 0) fail("setrlimit %s: %s", type, errstr(errno));
  }
}

/* Go's exec.LookPath, with its messages, so that errors read the same as runc's. */
static char *look_path(const char *file, char **env) {
  struct stat st;
  if (strchr(file, '/')) {
    if (stat(file, &st) < 0) fail("exec: \"%s\": stat %s: %s", file, file, errstr(errno));
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

void process_prepare(const jval *proc, const char *sc_prog, size_t sc_len, execplan *ep) {
  char err[4096];
  const jval *oom = jget(proc, "oomScoreAdj");
  if (oom && write_file("/proc/self/oom_score_adj", xprintf("%lld", jint(oom, 0))) < 0)
    fail("set oom_score_adj: %s", errstr(errno));
  set_rlimits(jget(proc, "rlimits"));

  /* user and capabilities, in runc's order */
  const jval *caps = jget(proc, "capabilities"), *user = jget(proc, "user");
  /* without no_new_privs only a process with CAP_SYS_ADMIN may install a filter: do it while we have it */
  int nnp = jbool(jget(proc, "noNewPrivileges"), 0);
  if (sc_prog && !nnp && seccomp_install(sc_prog, sc_len, err, sizeof err) < 0) fail("%s", err);
  if (caps_drop_bounding(caps, err, sizeof err) < 0) fail("%s", err);
  /* as runc: enter cwd while still root, and again as the user only if that failed */
  const char *cwd = jstr(jget(proc, "cwd"), "/");
  int in_cwd = chdir(cwd) == 0;
  if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0) fail("keep capabilities: %s", errstr(errno));
  unsigned uid = (unsigned)jint(jget(user, "uid"), 0), gid = (unsigned)jint(jget(user, "gid"), 0);
  const jval *gids = jget(user, "additionalGids");
  gid_t groups[64];
  int ng = 0;
  JFOR(g, gids) if (ng < 64) groups[ng++] = (gid_t)jint(g, 0);
  if (setgroups((size_t)ng, groups) < 0) fail("setgroups: %s", errstr(errno));
  if (setresgid(gid, gid, gid) < 0) fail("setgid %u: %s", gid, errstr(errno));
  if (setresuid(uid, uid, uid) < 0) fail("setuid %u: %s", uid, errstr(errno));
  if (!in_cwd && chdir(cwd) < 0) fail("chdir to cwd (\"%s\") set in config.json failed: %s", cwd, errstr(errno));
  prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
  if (caps_apply(caps, err, sizeof err) < 0) fail("%s", err);
  const jval *um = jget(user, "umask");
  umask(um ? (mode_t)jint(um, 022) : 022);
  if (nnp && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
    fail("no_new_privs: %s", errstr(errno));

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
  ep->exe = look_path(argv[0], envp);
  ep->argv = argv;
  ep->envp = envp;
  ep->nnp = nnp;
  ep->sc_prog = sc_prog;
  ep->sc_len = sc_len;

}

void process_exec(execplan *ep) {
  char err[4096];
  if (ep->sc_prog && ep->nnp && seccomp_install(ep->sc_prog, ep->sc_len, err, sizeof err) < 0) fail("%s", err);
  execve(ep->exe, ep->argv, ep->envp);
  fail("exec %s: %s", ep->argv[0], errstr(errno));
}
