/* Seccomp: the profile is compiled to a BPF program in TypeScript (agent/runtime/seccomp/);
 * here we only install it. The program is the raw array of struct sock_filter. */
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "rt.h"

int seccomp_install(const char *prog, size_t len, char *err, size_t n) {
  if (len == 0 || len % sizeof(struct sock_filter) != 0 || len / sizeof(struct sock_filter) > BPF_MAXINSNS) {
    snprintf(err, n, "seccomp program has %zu bytes: not a whole number of BPF instructions (at most %d)", len, BPF_MAXINSNS);
    return -1;
  }
  struct sock_fprog fp = {(unsigned short)(len / sizeof(struct sock_filter)), (struct sock_filter *)prog};
  /* TSYNC is not needed: the init process has one thread */
  if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &fp) < 0) {
    snprintf(err, n, "install seccomp filter: %s", strerror(errno));
    return -1;
  }
  return 0;
}
