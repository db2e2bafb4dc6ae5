/* cgroups v1 (a directory per hierarchy) and v2 (one directory): create the container's cgroup
 * from linux.cgroupsPath, write linux.resources the way runc does (same files, same unit
 * conversions for v2), join, freeze, read back pids and OOM kills, remove. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rt.h"
#include "util.h"

typedef struct {
  char *mnt;   /* mount point */
  char *root;  /* the mount's root inside the hierarchy (usually "/") */
  char *ctrl;  /* "memory", "cpu,cpuacct", "name=systemd", "unified" */
} hier;

static int is_mount_opt(const char *s) {
  static const char *const opts[] = {"rw", "ro", "relatime", "noatime", "nosuid", "nodev", "noexec", "xattr",
                                     "clone_children", "noprefix", "cpuset_v2_mode", "nsdelegate", "memory_recursiveprot",
                                     "memory_localevents", "favordynmods", NULL};
  for (int i = 0; opts[i]; i++)
    if (!strcmp(s, opts[i])) return 1;
  return strchr(s, '=') && strncmp(s, "name=", 5);
}

/* Hierarchies as mounted: the v1 ones, or the single v2 one when /sys/fs/cgroup is cgroup2. */
static int find_hierarchies(hier *out, int max, int *v2) {
  char *mi = read_file("/proc/self/mountinfo", NULL);
  int n = 0;
  *v2 = 0;
  for (char *line = mi ? strtok(mi, "\n") : NULL; line && n < max; line = strtok(NULL, "\n")) {
    char *f[6];
    char *p = line;
    for (int i = 0; i < 6; i++) {
      f[i] = p;
      p = strchr(p, ' ');
      if (!p) break;
      *p++ = 0;
    }
    char *dash = !p ? NULL : !strncmp(p, "- ", 2) ? p - 1 : strstr(p, " - ");
    if (!dash) continue;
    char *fstype = dash + 3, *src = strchr(fstype, ' ');
    if (!src) continue;
    *src++ = 0;
    char *super = strchr(src, ' ');
    super = super ? super + 1 : (char *)"";
    if (!strcmp(fstype, "cgroup2") && !strcmp(f[4], "/sys/fs/cgroup")) {
      *v2 = 1;
      out[0] = (hier){xstrdup(f[4]), xstrdup(f[3]), xstrdup("unified")};
      return 1;
    }
    if (strcmp(fstype, "cgroup")) continue;
    char ctrl[256] = "";
    for (char *tok = strtok_r(super, ",", &super); tok; tok = strtok_r(NULL, ",", &super)) {
      if (is_mount_opt(tok)) continue;
      if (ctrl[0]) strncat(ctrl, ",", sizeof ctrl - strlen(ctrl) - 1);
      strncat(ctrl, tok, sizeof ctrl - strlen(ctrl) - 1);
    }
    int dup = 0;
    for (int i = 0; i < n; i++) dup |= !strcmp(out[i].ctrl, ctrl);
    if (!dup && ctrl[0]) out[n++] = (hier){xstrdup(f[4]), xstrdup(f[3]), xstrdup(ctrl)};
  }
  return n;
}

static int list_has(const char *list, const char *item) {
  size_t n = strlen(item);
  for (const char *p = list; p && *p;) {
    const char *e = strchr(p, ',');
    size_t len = e ? (size_t)(e - p) : strlen(p);
    if (len == n && !strncmp(p, item, n)) return 1;
    p = e ? e + 1 : NULL;
  }
  return 0;
}

/* This process's cgroup in the hierarchy holding ctrl, from /proc/self/cgroup. */
static const char *own_cgroup(const char *ctrl, int v2) {
  char *s = read_file("/proc/self/cgroup", NULL);
  char first[64];
  snprintf(first, sizeof first, "%s", ctrl);
  char *comma = strchr(first, ',');
  if (comma) *comma = 0;
  for (char *line = s ? strtok(s, "\n") : NULL; line; line = strtok(NULL, "\n")) {
    char *a = strchr(line, ':'), *b = a ? strchr(a + 1, ':') : NULL;
    if (!b) continue;
    *b = 0;
    if (v2 ? a[1] == 0 : list_has(a + 1, first)) return b + 1;
  }
  return "/";
}

const char *cgroups_dir(const cgroups *cg, const char *ctrl) {
  for (int i = 0; i < cg->n; i++)
    if (cg->v2 || list_has(cg->ctrl[i], ctrl)) return cg->dir[i];
  return NULL;
}

static int cgset(const cgroups *cg, const char *ctrl, const char *file, const char *val, char *err, size_t n) {
  const char *dir = cgroups_dir(cg, ctrl);
  if (!dir) {
    snprintf(err, n, "cgroup controller %s is not available (needed for %s)", ctrl, file);
    return -1;
  }
  char *path = xprintf("%s/%s", dir, file);
  if (write_file(path, val) < 0) {
    snprintf(err, n, "cgroup: write %s to %s: %s", val, path, strerror(errno));
    return -1;
  }
  return 0;
}

static int exists(const cgroups *cg, const char *ctrl, const char *file) {
  const char *dir = cgroups_dir(cg, ctrl);
  return dir && access(xprintf("%s/%s", dir, file), F_OK) == 0;
}

#define SET(ctrl, file, ...) \
  do { if (cgset(cg, ctrl, file, xprintf(__VA_ARGS__), err, n) < 0) return -1; } while (0)

static int apply_devices_v1(const cgroups *cg, const jval *rules, char *err, size_t n) {
  if (!rules || !cgroups_dir(cg, "devices")) return 0;
  JFOR(r, rules) {
    const char *type = jstr(jget(r, "type"), "a"), *access_ = jstr(jget(r, "access"), "rwm");
    const jval *maj = jget(r, "major"), *min = jget(r, "minor");
    char *rule = !strcmp(type, "a") ? xstrdup("a")
                                    : xprintf("%s %s:%s %s", type, maj ? xprintf("%lld", jint(maj, 0)) : "*",
                                              min ? xprintf("%lld", jint(min, 0)) : "*", access_);
    SET("devices", jbool(jget(r, "allow"), 0) ? "devices.allow" : "devices.deny", "%s", rule);
  }
  /* the devices every container gets, as runc appends them */
  static const char *const allowed[] = {"c 1:3 rwm", "c 1:5 rwm", "c 1:7 rwm", "c 1:8 rwm", "c 1:9 rwm", "c 5:0 rwm",
                                        "c 5:1 rwm", "c 5:2 rwm", "c 136:* rwm", "c 10:200 rwm", NULL};
  for (int i = 0; allowed[i]; i++) SET("devices", "devices.allow", "%s", allowed[i]);
  return 0;
}

static int apply_throttle(const cgroups *cg, const jval *bio, const char *key, const char *v1file, const char *v2key, char *err,
                          size_t n) {
  JFOR(d, jget(bio, key)) {
    long long maj = jint(jget(d, "major"), 0), min = jint(jget(d, "minor"), 0);
    unsigned long long rate = juint(jget(d, "rate"), 0);
    if (cg->v2) SET("io", "io.max", "%lld:%lld %s=%llu", maj, min, v2key, rate);
    else SET("blkio", v1file, "%lld:%lld %llu", maj, min, rate);
  }
  return 0;
}

int cgroups_apply(const cgroups *cg, const jval *res, char *err, size_t n) {
  if (!res) return 0;
  const jval *mem = jget(res, "memory"), *cpu = jget(res, "cpu"), *pids = jget(res, "pids"), *bio = jget(res, "blockIO");
  const jval *limit = jget(mem, "limit"), *swap = jget(mem, "swap"), *resv = jget(mem, "reservation");
  if (cg->v2) {
    if (limit) SET("memory", "memory.max", "%s", jint(limit, -1) < 0 ? "max" : jget(mem, "limit")->str);
    if (swap) {
      long long s = jint(swap, -1), l = jint(limit, -1);
      if (s < 0) SET("memory", "memory.swap.max", "max");
      else if (l >= 0) SET("memory", "memory.swap.max", "%lld", s > l ? s - l : 0);
    }
    if (resv) SET("memory", "memory.low", "%lld", jint(resv, 0));
    if (jget(cpu, "shares")) {
      unsigned long long sh = juint(jget(cpu, "shares"), 1024);
      if (sh < 2) sh = 2;
      SET("cpu", "cpu.weight", "%llu", 1 + ((sh - 2) * 9999) / 262142);
    }
    if (jget(cpu, "quota") || jget(cpu, "period")) {
      long long q = jint(jget(cpu, "quota"), -1);
      unsigned long long p = juint(jget(cpu, "period"), 100000);
      if (q > 0) SET("cpu", "cpu.max", "%lld %llu", q, p);
      else SET("cpu", "cpu.max", "max %llu", p);
    }
    if (jget(bio, "weight")) {
      unsigned long long w = juint(jget(bio, "weight"), 500);
      if (exists(cg, "io", "io.bfq.weight")) SET("io", "io.bfq.weight", "%llu", w);
      else SET("io", "io.weight", "%llu", 1 + (w - 10) * 9999 / 990);
    }
    if (apply_throttle(cg, bio, "throttleReadBpsDevice", NULL, "rbps", err, n) < 0 ||
        apply_throttle(cg, bio, "throttleWriteBpsDevice", NULL, "wbps", err, n) < 0 ||
        apply_throttle(cg, bio, "throttleReadIOPSDevice", NULL, "riops", err, n) < 0 ||
        apply_throttle(cg, bio, "throttleWriteIOPSDevice", NULL, "wiops", err, n) < 0)
      return -1;
  } else {
    if (limit) SET("memory", "memory.limit_in_bytes", "%lld", jint(limit, -1));
    /* memsw exists only with swap accounting; Docker drops the setting then, and so do we */
    if (swap && exists(cg, "memory", "memory.memsw.limit_in_bytes")) SET("memory", "memory.memsw.limit_in_bytes", "%lld", jint(swap, -1));
    if (resv) SET("memory", "memory.soft_limit_in_bytes", "%lld", jint(resv, -1));
    if (jget(mem, "swappiness") && juint(jget(mem, "swappiness"), 200) <= 100)
      SET("memory", "memory.swappiness", "%llu", juint(jget(mem, "swappiness"), 60));
    if (jbool(jget(mem, "disableOOMKiller"), 0)) SET("memory", "memory.oom_control", "1");
    if (jget(cpu, "shares")) SET("cpu", "cpu.shares", "%llu", juint(jget(cpu, "shares"), 1024));
    if (jget(cpu, "period")) SET("cpu", "cpu.cfs_period_us", "%llu", juint(jget(cpu, "period"), 100000));
    if (jget(cpu, "quota")) SET("cpu", "cpu.cfs_quota_us", "%lld", jint(jget(cpu, "quota"), -1));
    if (jget(cpu, "realtimePeriod")) SET("cpu", "cpu.rt_period_us", "%llu", juint(jget(cpu, "realtimePeriod"), 0));
    if (jget(cpu, "realtimeRuntime")) SET("cpu", "cpu.rt_runtime_us", "%lld", jint(jget(cpu, "realtimeRuntime"), 0));
    if (jget(bio, "weight")) {
      unsigned long long w = juint(jget(bio, "weight"), 500);
      if (exists(cg, "blkio", "blkio.weight")) SET("blkio", "blkio.weight", "%llu", w);
      else SET("blkio", "blkio.bfq.weight", "%llu", w);
    }
    JFOR(d, jget(bio, "weightDevice"))
      SET("blkio", "blkio.weight_device", "%lld:%lld %llu", jint(jget(d, "major"), 0), jint(jget(d, "minor"), 0),
          juint(jget(d, "weight"), 500));
    if (apply_throttle(cg, bio, "throttleReadBpsDevice", "blkio.throttle.read_bps_device", NULL, err, n) < 0 ||
        apply_throttle(cg, bio, "throttleWriteBpsDevice", "blkio.throttle.write_bps_device", NULL, err, n) < 0 ||
        apply_throttle(cg, bio, "throttleReadIOPSDevice", "blkio.throttle.read_iops_device", NULL, err, n) < 0 ||
        apply_throttle(cg, bio, "throttleWriteIOPSDevice", "blkio.throttle.write_iops_device", NULL, err, n) < 0)
      return -1;
    if (apply_devices_v1(cg, jget(res, "devices"), err, n) < 0) return -1;
  }
  if (jget(cpu, "cpus")) SET("cpuset", "cpuset.cpus", "%s", jstr(jget(cpu, "cpus"), ""));
  if (jget(cpu, "mems")) SET("cpuset", "cpuset.mems", "%s", jstr(jget(cpu, "mems"), ""));
  if (pids) {
    long long l = jint(jget(pids, "limit"), 0);
    if (l > 0) SET("pids", "pids.max", "%lld", l);
    else SET("pids", "pids.max", "max");
  }
  return 0;
}

/* A new v1 cpuset cgroup starts with no cpus and no mems: copy them down from the parent. */
static void cpuset_fill(const char *mnt, const char *dir) {
  size_t base = strlen(mnt);
  char *path = xstrdup(dir);
  for (char *p = path + base + 1; p && *p;) {
    char *slash = strchr(p, '/');
    if (slash) *slash = 0;
    const char *files[] = {"cpuset.cpus", "cpuset.mems"};
    for (int i = 0; i < 2; i++) {
      char *mine = read_file(xprintf("%s/%s", path, files[i]), NULL);
      if (mine && mine[0] && mine[0] != '\n') continue;
      char *up = xstrdup(path);
      *strrchr(up, '/') = 0;
      char *parent = read_file(xprintf("%s/%s", up, files[i]), NULL);
      if (parent) write_file(xprintf("%s/%s", path, files[i]), parent);
    }
    if (slash) *slash = '/';
    p = slash ? slash + 1 : NULL;
  }
}

/* v2: a controller works in a child only once every ancestor enables it in subtree_control. */
static void enable_controllers(const char *mnt, const char *dir) {
  char *ctrls = read_file(xprintf("%s/cgroup.controllers", mnt), NULL);
  if (!ctrls) return;
  char want[512] = "";
  for (char *t = strtok(ctrls, " \n"); t; t = strtok(NULL, " \n")) {
    strncat(want, want[0] ? " +" : "+", sizeof want - strlen(want) - 1);
    strncat(want, t, sizeof want - strlen(want) - 1);
  }
  size_t base = strlen(mnt);
  write_file(xprintf("%s/cgroup.subtree_control", mnt), want);
  for (size_t i = base + 1; dir[i]; i++)
    if (dir[i] == '/') write_file(xprintf("%.*s/cgroup.subtree_control", (int)i, dir), want);
}

/* Before clone: directories and limits, so the init process knows its cgroups for mounts. */
int cgroups_create(container *c, char *err, size_t n) {
  hier h[MAX_CG];
  int v2, nh = find_hierarchies(h, MAX_CG, &v2);
  const char *cp = jstr(jpath(c->config, "linux.cgroupsPath"), NULL);
  if (cp && strchr(cp, ':')) {
    snprintf(err, n, "linux.cgroupsPath %s: systemd cgroup paths (slice:prefix:name) are not supported", cp);
    return -1;
  }
  if (!cp || !cp[0]) cp = xprintf("/tsc-runtime/%s", c->id);
  c->cg.v2 = v2;
  c->cg.n = 0;
  for (int i = 0; i < nh; i++) {
    const char *rel = cp;
    if (cp[0] != '/') {
      const char *own = own_cgroup(h[i].ctrl, v2);
      size_t rl = strlen(h[i].root);
      if (strcmp(h[i].root, "/") && !strncmp(own, h[i].root, rl)) own += rl;
      rel = xprintf("%s/%s", strcmp(own, "/") ? own : "", cp);
    }
    char *dir = xprintf("%s%s", h[i].mnt, rel);
    if (mkdir_p(dir, 0755) < 0) {
      snprintf(err, n, "create cgroup %s: %s", dir, strerror(errno));
      return -1;
    }
    c->cg.ctrl[c->cg.n] = h[i].ctrl;
    c->cg.dir[c->cg.n++] = dir;
    if (list_has(h[i].ctrl, "cpuset")) cpuset_fill(h[i].mnt, dir);
    if (v2) enable_controllers(h[i].mnt, dir);
  }
  return cgroups_apply(&c->cg, jpath(c->config, "linux.resources"), err, n);
}

int cgroups_join(container *c, pid_t pid, char *err, size_t n) {
  for (int i = 0; i < c->cg.n; i++) {
    if (write_file(xprintf("%s/cgroup.procs", c->cg.dir[i]), xprintf("%d", (int)pid)) < 0) {
      snprintf(err, n, "join cgroup %s: %s", c->cg.dir[i], strerror(errno));
      return -1;
    }
  }
  return 0;
}

int cgroups_pids(const cgroups *cg, pid_t *out, int max) {
  const char *dir = cg->v2 ? (cg->n ? cg->dir[0] : NULL) : cgroups_dir(cg, "pids");
  if (!dir) dir = cgroups_dir(cg, "memory");
  if (!dir) return 0;
  char *s = read_file(xprintf("%s/cgroup.procs", dir), NULL);
  int k = 0;
  for (char *t = s ? strtok(s, "\n") : NULL; t && k < max; t = strtok(NULL, "\n")) out[k++] = (pid_t)atoi(t);
  return k;
}

/* Removing a cgroup fails while its last processes are still exiting: retry for a while. */
int cgroups_destroy(const cgroups *cg) {
  int rc = 0;
  for (int i = 0; i < cg->n; i++) {
    long long deadline = monotonic_ms() + 2000;
    while (rmdir(cg->dir[i]) < 0 && errno != ENOENT) {
      if (errno != EBUSY || monotonic_ms() > deadline) { rc = -1; break; }
      sleep_ms(2);
    }
  }
  return rc;
}

int cgroups_freeze(const cgroups *cg, int freeze, char *err, size_t n) {
  const char *dir = cg->v2 ? (cg->n ? cg->dir[0] : NULL) : cgroups_dir(cg, "freezer");
  if (!dir) {
    snprintf(err, n, "the freezer cgroup is not available");
    return -1;
  }
  const char *file = cg->v2 ? "cgroup.freeze" : "freezer.state";
  if (write_file(xprintf("%s/%s", dir, file), cg->v2 ? (freeze ? "1" : "0") : (freeze ? "FROZEN" : "THAWED")) < 0) {
    snprintf(err, n, "write %s/%s: %s", dir, file, strerror(errno));
    return -1;
  }
  long long deadline = monotonic_ms() + 5000;
  while (cgroups_frozen(cg) != freeze) {
    if (monotonic_ms() > deadline) {
      snprintf(err, n, "cgroup %s did not %s within 5s", dir, freeze ? "freeze" : "thaw");
      return -1;
    }
    sleep_ms(1);
  }
  return 0;
}

int cgroups_frozen(const cgroups *cg) {
  if (cg->v2) {
    char *ev = cg->n ? read_file(xprintf("%s/cgroup.events", cg->dir[0]), NULL) : NULL;
    return ev && strstr(ev, "frozen 1") != NULL;
  }
  const char *dir = cgroups_dir(cg, "freezer");
  char *st = dir ? read_file(xprintf("%s/freezer.state", dir), NULL) : NULL;
  return st && !strncmp(st, "FROZEN", 6);
}

long long cgroups_oom_kills(const cgroups *cg) {
  const char *dir = cgroups_dir(cg, "memory");
  char *s = dir ? read_file(xprintf("%s/%s", dir, cg->v2 ? "memory.events" : "memory.oom_control"), NULL) : NULL;
  char *k = s ? strstr(s, "oom_kill ") : NULL;
  return k ? atoll(k + 9) : 0;
}

/* The container's /sys/fs/cgroup: its own cgroups only, as runc shows them (a writable tmpfs
 * holding a read-only bind per hierarchy). */
int cgroups_mount(const cgroups *cg, const char *dest, unsigned long flags, char *err, size_t n) {
  unsigned long f = flags & (MS_NOSUID | MS_NODEV | MS_NOEXEC);
  if (cg->v2) {
    if (cg->n && (mount(cg->dir[0], dest, NULL, MS_BIND, NULL) < 0 ||
                  mount(NULL, dest, NULL, MS_BIND | MS_REMOUNT | f | (flags & MS_RDONLY), NULL) < 0)) {
      snprintf(err, n, "mount cgroup2 on %s: %s", dest, strerror(errno));
      return -1;
    }
    return 0;
  }
  if (mount("tmpfs", dest, "tmpfs", f, "mode=755") < 0) {
    snprintf(err, n, "mount tmpfs on %s: %s", dest, strerror(errno));
    return -1;
  }
  for (int i = 0; i < cg->n; i++) {
    const char *name = strncmp(cg->ctrl[i], "name=", 5) ? cg->ctrl[i] : cg->ctrl[i] + 5;
    char *sub = xprintf("%s/%s", dest, name);
    if (mkdir(sub, 0755) < 0 && errno != EEXIST) continue;
    if (mount(cg->dir[i], sub, NULL, MS_BIND, NULL) < 0 ||
        mount(NULL, sub, NULL, MS_BIND | MS_REMOUNT | f | (flags & MS_RDONLY), NULL) < 0) {
      snprintf(err, n, "mount cgroup %s on %s: %s", cg->ctrl[i], sub, strerror(errno));
      return -1;
    }
  }
  return 0;
}
