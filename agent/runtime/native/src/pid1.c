/* `init: true`: a minimal init as PID 1 of the container (like tini or docker-init, built in).
 * It forks the real process, forwards it every signal it may catch, reaps every zombie that is
 * re-parented to it, and exits with the process's status when the process exits. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "rt.h"

void pid1_fork(int sock) {
  sigset_t all, old;
  sigfillset(&all);
  sigprocmask(SIG_BLOCK, &all, &old);
  pid_t child = fork();
  if (child < 0) fail("init: fork: %s", "cannot fork");
  if (child == 0) {
    sigprocmask(SIG_SETMASK, &old, NULL);
    setpgid(0, 0);
    return;
  }
  close(sock); /* the child's copy closes on exec: that is how the monitor learns it started */
  prctl(PR_SET_NAME, "init", 0, 0, 0);
  for (;;) {
    siginfo_t si;
    int sig = sigwaitinfo(&all, &si);
    if (sig < 0) continue;
    if (sig != SIGCHLD) {
      kill(child, sig);
      continue;
    }
    int st;
    pid_t p;
    while ((p = waitpid(-1, &st, WNOHANG)) > 0)
      if (p == child) _exit(WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
  }
}
