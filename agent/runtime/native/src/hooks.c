/* OCI hooks run by the runtime in its own namespaces: createRuntime (and the older prestart)
 * once the namespaces exist and before the process may start, poststart after start, poststop
 * at delete. Each gets the container's state JSON on stdin and is killed at its timeout. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "rt.h"
#include "util.h"

static char *state_json(const container *c, const char *status) {
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  if (!f) return xstrdup("{}");
  fprintf(f, "{\"ociVersion\":\"%s\",\"id\":", OCI_VERSION);
  json_write_str(f, c->id);
  fprintf(f, ",\"status\":\"%s\",\"pid\":%d,\"bundle\":", status, (int)c->pid);
  json_write_str(f, c->bundle);
  if (c->annotations && c->annotations->t == J_OBJ) {
    fputs(",\"annotations\":", f);
    json_write(f, c->annotations);
  }
  fputc('}', f);
  fclose(f);
  char *out = xstrdup(buf);
  free(buf);
  return out;
}

static int run_hook(const jval *h, const char *state, char *err, size_t n) {
  const char *path = jstr(jget(h, "path"), NULL);
  if (!path) {
    snprintf(err, n, "hook without a path");
    return -1;
  }
  int argc = jlen(jget(h, "args")), envc = jlen(jget(h, "env")), i = 0;
  char **argv = xalloc(sizeof(char *) * (size_t)(argc + 2)), **envp = xalloc(sizeof(char *) * (size_t)(envc + 1));
  if (argc == 0) argv[i++] = (char *)path;
  JFOR(a, jget(h, "args")) argv[i++] = (char *)jstr(a, "");
  i = 0;
  JFOR(e, jget(h, "env")) envp[i++] = (char *)jstr(e, "");
  int in[2];
  if (pipe2(in, O_CLOEXEC) < 0) {
    snprintf(err, n, "hook %s: pipe: %s", path, strerror(errno));
    return -1;
  }
  pid_t pid = fork();
  if (pid == 0) {
    dup2(in[0], 0);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    execve(path, argv, envp);
    _exit(127);
  }
  close(in[0]);
  if (pid < 0) {
    close(in[1]);
    snprintf(err, n, "hook %s: fork: %s", path, strerror(errno));
    return -1;
  }
  write_all(in[1], state, strlen(state));
  close(in[1]);
  long long timeout = jint(jget(h, "timeout"), 0);
  long long deadline = timeout > 0 ? monotonic_ms() + timeout * 1000 : 0;
  int st = 0;
  for (;;) {
    pid_t r = waitpid(pid, &st, deadline ? WNOHANG : 0);
    if (r == pid) break;
    if (r < 0 && errno != EINTR) break;
    if (deadline && monotonic_ms() > deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, &st, 0);
      snprintf(err, n, "hook %s timed out after %llds", path, timeout);
      return -1;
    }
    if (deadline) sleep_ms(2);
  }
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
    snprintf(err, n, "hook %s failed: exit status %d", path, exit_code_of(st));
    return -1;
  }
  return 0;
}

int hooks_run(const container *c, const char *kind, const char *status, char *err, size_t n) {
  const jval *list = jget(jget(c->config, "hooks"), kind);
  if (!list) return 0;
  char *state = state_json(c, status);
  JFOR(h, list) {
    if (run_hook(h, state, err, n) < 0) return -1;
  }
  return 0;
}
