/* Capabilities by name, and the two steps of applying them: drop from the bounding set while
 * still root, then (after switching user with keep-caps) set effective, permitted, inheritable
 * and raise the ambient ones. */
#include <errno.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "rt.h"
#include "util.h"

static const char *const cap_names[] = {
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL", "CAP_SETGID",
    "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN",
    "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ",
    "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
};
#define NCAPS ((int)(sizeof cap_names / sizeof *cap_names))

int cap_from_name(const char *name) {
  for (int i = 0; i < NCAPS; i++)
    if (!strcmp(name, cap_names[i])) return i;
  return -1;
}

static int last_cap(void) {
  static int last = -1;
  if (last < 0) {
    char *s = read_file("/proc/sys/kernel/cap_last_cap", NULL);
    last = s ? atoi(s) : NCAPS - 1;
  }
  return last;
}

/* Unknown names are skipped, as runc does, so a profile written for a newer kernel still runs. */
static unsigned long long mask_of(const jval *list) {
  unsigned long long m = 0;
  JFOR(c, list) {
    int n = cap_from_name(jstr(c, ""));
    if (n >= 0 && n <= last_cap()) m |= 1ULL << n;
  }
  return m;
}

int caps_drop_bounding(const jval *caps, char *err, size_t n) {
  if (!caps) return 0;
  unsigned long long keep = mask_of(jget(caps, "bounding"));
  for (int i = 0; i <= last_cap(); i++) {
    if (keep & (1ULL << i)) continue;
    if (prctl(PR_CAPBSET_DROP, i, 0, 0, 0) < 0 && errno != EINVAL) {
      snprintf(err, n, "drop capability %s from the bounding set: %s", i < NCAPS ? cap_names[i] : "?", strerror(errno));
      return -1;
    }
  }
  return 0;
}

int caps_apply(const jval *caps, char *err, size_t n) {
  if (!caps) return 0;
  unsigned long long eff = mask_of(jget(caps, "effective")), perm = mask_of(jget(caps, "permitted")),
                     inh = mask_of(jget(caps, "inheritable")), amb = mask_of(jget(caps, "ambient"));
  struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct data[2] = {
      {(unsigned)eff, (unsigned)perm, (unsigned)inh},
      {(unsigned)(eff >> 32), (unsigned)(perm >> 32), (unsigned)(inh >> 32)},
  };
  if (syscall(SYS_capset, &hdr, data) < 0) {
    snprintf(err, n, "set capabilities: %s", strerror(errno));
    return -1;
  }
  prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
  for (int i = 0; i <= last_cap(); i++)
    if (amb & (1ULL << i)) prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, i, 0, 0); /* refused unless permitted+inheritable, as in runc */
  return 0;
}
