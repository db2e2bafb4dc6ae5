/* The container's file system, as runc builds it: make the host's mounts slaves, bind the rootfs
 * onto itself, mount config.json's mounts inside it (targets resolved inside the rootfs with
 * openat2(RESOLVE_IN_ROOT) so a symlink in the image cannot point a mount at the host), create
 * the default device nodes and /dev links, pivot_root; then sysctls, read-only and masked paths
 * and the read-only root. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "rt.h"
#include "util.h"

struct mflag {
  const char *name;
  int clear;
  unsigned long flag;
};
static const struct mflag mflags[] = {
    {"async", 1, MS_SYNCHRONOUS}, {"atime", 1, MS_NOATIME},        {"bind", 0, MS_BIND},
    {"defaults", 0, 0},           {"dev", 1, MS_NODEV},            {"diratime", 1, MS_NODIRATIME},
    {"dirsync", 0, MS_DIRSYNC},   {"exec", 1, MS_NOEXEC},          {"mand", 0, MS_MANDLOCK},
    {"noatime", 0, MS_NOATIME},   {"nodev", 0, MS_NODEV},          {"nodiratime", 0, MS_NODIRATIME},
    {"noexec", 0, MS_NOEXEC},     {"nomand", 1, MS_MANDLOCK},      {"norelatime", 1, MS_RELATIME},
    {"nostrictatime", 1, MS_STRICTATIME}, {"nosuid", 0, MS_NOSUID}, {"rbind", 0, MS_BIND | MS_REC},
    {"relatime", 0, MS_RELATIME}, {"remount", 0, MS_REMOUNT},      {"ro", 0, MS_RDONLY},
    {"rw", 1, MS_RDONLY},         {"strictatime", 0, MS_STRICTATIME}, {"suid", 1, MS_NOSUID},
    {"sync", 0, MS_SYNCHRONOUS},
};
static const struct mflag pflags[] = {
    {"private", 0, MS_PRIVATE},       {"rprivate", 0, MS_PRIVATE | MS_REC}, {"shared", 0, MS_SHARED},
    {"rshared", 0, MS_SHARED | MS_REC}, {"slave", 0, MS_SLAVE},           {"rslave", 0, MS_SLAVE | MS_REC},
    {"unbindable", 0, MS_UNBINDABLE}, {"runbindable", 0, MS_UNBINDABLE | MS_REC},
};

typedef struct {
  unsigned long flags, pflags;
  char data[1024];
} mopts;

static void parse_options(const jval *opts, mopts *o) {
  memset(o, 0, sizeof *o);
  size_t dl = 0;
  JFOR(opt, opts) {
    const char *s = jstr(opt, "");
    int known = 0;
    for (size_t i = 0; i < sizeof mflags / sizeof *mflags && !known; i++)
      if (!strcmp(s, mflags[i].name)) {
        known = 1;
        if (mflags[i].clear) o->flags &= ~mflags[i].flag;
        else o->flags |= mflags[i].flag;
      }
    for (size_t i = 0; i < sizeof pflags / sizeof *pflags && !known; i++)
      if (!strcmp(s, pflags[i].name)) known = 1, o->pflags |= pflags[i].flag;
    if (known || !strcmp(s, "tmpcopyup")) continue;
    dl += (size_t)snprintf(o->data + dl, dl < sizeof o->data ? sizeof o->data - dl : 0, "%s%s", dl ? "," : "", s);
  }
}

unsigned long rootfs_propagation(const char *s) {
  for (size_t i = 0; i < sizeof pflags / sizeof *pflags; i++)
    if (!strcmp(s, pflags[i].name)) return pflags[i].flag;
  return 0;
}

static int open_in_root(int rootfd, const char *path, int flags) {
  struct open_how how = {.flags = (unsigned long long)(flags | O_CLOEXEC), .resolve = RESOLVE_IN_ROOT};
  return (int)syscall(SYS_openat2, rootfd, path, &how, sizeof how);
}

/* mkdir -p (or touch, for the last part) of path inside the root, never leaving it. */
static int mkpath_in_root(int rootfd, const char *path, int is_file) {
  char buf[4096];
  snprintf(buf, sizeof buf, "%s", path);
  size_t n = strlen(buf);
  for (size_t e = 1; e <= n; e++) {
    if (buf[e] != '/' && buf[e] != 0) continue;
    char save = buf[e];
    buf[e] = 0;
    int last = save == 0 || buf[e + 1] == 0;
    int fd = open_in_root(rootfd, buf, O_PATH);
    if (fd >= 0) {
      close(fd);
    } else {
      if (errno != ENOENT) return -1;
      char *slash = strrchr(buf, '/');
      *slash = 0;
      int pfd = open_in_root(rootfd, slash == buf ? "/" : buf, O_PATH | O_DIRECTORY);
      *slash = '/';
      if (pfd < 0) return -1;
      int r;
      if (last && is_file) {
        r = openat(pfd, slash + 1, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
        if (r >= 0) close(r);
      } else {
        r = mkdirat(pfd, slash + 1, 0755);
        if (r < 0 && errno == EEXIST) r = 0;
      }
      close(pfd);
      if (r < 0) return -1;
    }
    buf[e] = save;
    if (last) break;
  }
  return 0;
}

/* "/proc/self/fd/N" naming dest inside the root; the fd stays open until the next call. */
static int target_fd = -1;
static char target[64];
static const char *target_of(int rootfd, const char *dest) {
  if (target_fd >= 0) close(target_fd);
  target_fd = open_in_root(rootfd, dest, O_PATH);
  if (target_fd < 0) return NULL;
  snprintf(target, sizeof target, "/proc/self/fd/%d", target_fd);
  return target;
}

/* Flags a bind remount must keep: the kernel refuses to drop locked ones. */
static unsigned long kept_flags(const char *path) {
  struct statvfs st;
  unsigned long f = 0;
  if (statvfs(path, &st) < 0) return 0;
  if (st.f_flag & ST_NOSUID) f |= MS_NOSUID;
  if (st.f_flag & ST_NODEV) f |= MS_NODEV;
  if (st.f_flag & ST_NOEXEC) f |= MS_NOEXEC;
  if (st.f_flag & ST_NOATIME) f |= MS_NOATIME;
  if (st.f_flag & ST_NODIRATIME) f |= MS_NODIRATIME;
  if (st.f_flag & ST_RELATIME) f |= MS_RELATIME;
  return f;
}

static int mount_one(container *c, int rootfd, const jval *m, char *err, size_t n) {
  const char *dest = jstr(jget(m, "destination"), NULL), *type = jstr(jget(m, "type"), ""),
             *src = jstr(jget(m, "source"), "");
  if (!dest || dest[0] != '/') {
    snprintf(err, n, "mount destination %s is not an absolute path", dest ? dest : "(missing)");
    return -1;
  }
  mopts o;
  parse_options(jget(m, "options"), &o);
  int bind = (o.flags & MS_BIND) || !strcmp(type, "bind");
  int is_file = 0;
  const char *host_src = src;
  if (bind) {
    if (src[0] != '/') host_src = xprintf("%s/%s", c->bundle, src);
    struct stat st;
    if (stat(host_src, &st) < 0) {
      snprintf(err, n, "mount %s: source %s: %s", dest, host_src, strerror(errno));
      return -1;
    }
    is_file = !S_ISDIR(st.st_mode);
  }
  if (mkpath_in_root(rootfd, dest, is_file) < 0) {
    snprintf(err, n, "mount %s: create mount point: %s", dest, strerror(errno));
    return -1;
  }
  if (!strcmp(type, "cgroup")) {
    char *abs = xprintf("%s%s", c->rootfs, dest);
    return cgroups_mount(&c->cg, abs, o.flags, err, n);
  }
  const char *t = target_of(rootfd, dest);
  if (!t) {
    snprintf(err, n, "mount %s: %s", dest, strerror(errno));
    return -1;
  }
  if (bind) {
    if (mount(host_src, t, NULL, MS_BIND | (o.flags & MS_REC), NULL) < 0) {
      snprintf(err, n, "bind mount %s to %s: %s", host_src, dest, strerror(errno));
      return -1;
    }
    unsigned long rest = o.flags & ~(MS_BIND | MS_REC | MS_REMOUNT);
    if (rest) {
      t = target_of(rootfd, dest);
      if (mount(NULL, t, NULL, MS_BIND | MS_REMOUNT | rest | kept_flags(t), NULL) < 0) {
        snprintf(err, n, "remount %s: %s", dest, strerror(errno));
        return -1;
      }
    }
  } else if (mount(src, t, type, o.flags & ~MS_REC, o.data[0] ? o.data : NULL) < 0) {
    int e = errno;
    if (!strcmp(type, "sysfs") && (e == EPERM || e == EBUSY)) {
      /* no network namespace of our own: bind the host's /sys read-only, as runc does */
      if (mount("/sys", t, NULL, MS_BIND | MS_REC, NULL) == 0) {
        t = target_of(rootfd, dest);
        mount(NULL, t, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | kept_flags(t), NULL);
        return 0;
      }
    }
    snprintf(err, n, "mount %s (%s) on %s: %s", src, type, dest, strerror(e));
    return -1;
  }
  if (o.pflags) {
    t = target_of(rootfd, dest);
    if (mount(NULL, t, NULL, o.pflags, NULL) < 0) {
      snprintf(err, n, "set propagation of %s: %s", dest, strerror(errno));
      return -1;
    }
  }
  return 0;
}

static int has_bind_dev(const container *c) {
  JFOR(m, jget(c->config, "mounts")) {
    if (strcmp(jstr(jget(m, "destination"), ""), "/dev")) continue;
    mopts o;
    parse_options(jget(m, "options"), &o);
    if ((o.flags & MS_BIND) || !strcmp(jstr(jget(m, "type"), ""), "bind")) return 1;
  }
  return 0;
}

static int make_device(int rootfd, const char *path, char type, unsigned maj, unsigned min, mode_t mode, int uid, int gid,
                       int userns, char *err, size_t n) {
  mode_t kind = type == 'b' ? S_IFBLK : type == 'p' ? S_IFIFO : S_IFCHR;
  if (mkpath_in_root(rootfd, path, 1) < 0) goto fail;
  const char *t = target_of(rootfd, path);
  if (!t) goto fail;
  if (!userns) {
    /* replace the empty file mkpath made with the node */
    char *slash = strrchr(path, '/');
    char *parent = xstrndup(path, (size_t)(slash - path));
    int pfd = open_in_root(rootfd, parent[0] ? parent : "/", O_PATH | O_DIRECTORY);
    if (pfd < 0) goto fail;
    unlinkat(pfd, slash + 1, 0);
    if (mknodat(pfd, slash + 1, kind | (mode & 07777), makedev(maj, min)) < 0) { close(pfd); goto fail; }
    fchmodat(pfd, slash + 1, mode & 07777, 0);
    if (fchownat(pfd, slash + 1, (uid_t)uid, (gid_t)gid, AT_SYMLINK_NOFOLLOW) < 0) { close(pfd); goto fail; }
    close(pfd);
    return 0;
  }
  /* in a user namespace mknod is refused: bind the host's node instead */
  if (mount(path, t, NULL, MS_BIND, NULL) < 0) goto fail;
  return 0;
fail:
  snprintf(err, n, "create device %s: %s", path, strerror(errno));
  return -1;
}

static int setup_dev(container *c, int rootfd, int userns, char *err, size_t n) {
  static const struct { const char *path; unsigned maj, min; } defdevs[] = {
      {"/dev/null", 1, 3}, {"/dev/zero", 1, 5}, {"/dev/full", 1, 7}, {"/dev/random", 1, 8}, {"/dev/urandom", 1, 9}, {"/dev/tty", 5, 0},
  };
  for (size_t i = 0; i < sizeof defdevs / sizeof *defdevs; i++)
    if (make_device(rootfd, defdevs[i].path, 'c', defdevs[i].maj, defdevs[i].min, 0666, 0, 0, userns, err, n) < 0) return -1;
  JFOR(d, jpath(c->config, "linux.devices")) {
    const char *path = jstr(jget(d, "path"), NULL), *type = jstr(jget(d, "type"), "c");
    if (!path) continue;
    if (make_device(rootfd, path, type[0], (unsigned)jint(jget(d, "major"), 0), (unsigned)jint(jget(d, "minor"), 0),
                    (mode_t)jint(jget(d, "fileMode"), 0666), (int)jint(jget(d, "uid"), 0), (int)jint(jget(d, "gid"), 0), userns, err,
                    n) < 0)
      return -1;
  }
  int dfd = open_in_root(rootfd, "/dev", O_PATH | O_DIRECTORY);
  if (dfd < 0) {
    snprintf(err, n, "open /dev: %s", strerror(errno));
    return -1;
  }
  static const char *links[][2] = {{"/proc/self/fd", "fd"}, {"/proc/self/fd/0", "stdin"}, {"/proc/self/fd/1", "stdout"},
                                   {"/proc/self/fd/2", "stderr"}};
  for (size_t i = 0; i < 4; i++) symlinkat(links[i][0], dfd, links[i][1]);
  if (access("/proc/kcore", F_OK) == 0) symlinkat("/proc/kcore", dfd, "core");
  unlinkat(dfd, "ptmx", 0);
  symlinkat("pts/ptmx", dfd, "ptmx");
  close(dfd);
  return 0;
}

int rootfs_setup(container *c, char *err, size_t n) {
  unsigned long prop = MS_SLAVE | MS_REC;
  const char *rp = jstr(jpath(c->config, "linux.rootfsPropagation"), NULL);
  if (rp) prop = rootfs_propagation(rp);
  if (mount(NULL, "/", NULL, prop ? prop : MS_SLAVE | MS_REC, NULL) < 0) {
    snprintf(err, n, "make / %s: %s", rp ? rp : "rslave", strerror(errno));
    return -1;
  }
  if (mount(c->rootfs, c->rootfs, NULL, MS_BIND | MS_REC, NULL) < 0) {
    snprintf(err, n, "bind rootfs %s: %s", c->rootfs, strerror(errno));
    return -1;
  }
  int rootfd = open(c->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (rootfd < 0) {
    snprintf(err, n, "open rootfs %s: %s", c->rootfs, strerror(errno));
    return -1;
  }
  JFOR(m, jget(c->config, "mounts")) {
    if (mount_one(c, rootfd, m, err, n) < 0) return -1;
  }
  int userns = 0;
  JFOR(ns, jpath(c->config, "linux.namespaces")) userns |= !strcmp(jstr(jget(ns, "type"), ""), "user");
  if (!has_bind_dev(c) && setup_dev(c, rootfd, userns, err, n) < 0) return -1;
  /* as runc: a missing cwd is created (before the root may become read-only) */
  const char *cwd = jstr(jpath(c->config, "process.cwd"), "/");
  int cfd = open_in_root(rootfd, cwd, O_PATH);
  if (cfd >= 0) close(cfd);
  else if (errno == ENOENT && mkpath_in_root(rootfd, cwd, 0) < 0) {
    snprintf(err, n, "create cwd %s: %s", cwd, strerror(errno));
    return -1;
  }
  if (target_fd >= 0) close(target_fd), target_fd = -1;
  /* pivot_root(".", ".") stacks the old root on the new one; detaching it leaves only the new */
  int oldroot = open("/", O_DIRECTORY | O_RDONLY | O_CLOEXEC);
  if (fchdir(rootfd) < 0 || chdir(c->rootfs) < 0 || syscall(SYS_pivot_root, ".", ".") < 0) {
    snprintf(err, n, "pivot_root %s: %s", c->rootfs, strerror(errno));
    return -1;
  }
  if (fchdir(oldroot) < 0 || mount(NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) < 0 || umount2(".", MNT_DETACH) < 0 || chdir("/") < 0) {
    snprintf(err, n, "detach old root: %s", strerror(errno));
    return -1;
  }
  close(oldroot);
  close(rootfd);
  if (rp && prop && mount(NULL, "/", NULL, prop, NULL) < 0) {
    snprintf(err, n, "set rootfs propagation %s: %s", rp, strerror(errno));
    return -1;
  }
  return 0;
}

static int remount_ro(const char *path) {
  return mount(NULL, path, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | kept_flags(path), NULL);
}

int rootfs_finalize(container *c, char *err, size_t n) {
  JFOR(s, jpath(c->config, "linux.sysctl")) {
    char *path = xprintf("/proc/sys/%s", s->key);
    for (char *p = path + 10; *p; p++)
      if (*p == '.') *p = '/';
    if (write_file(path, jstr(s, "")) < 0) {
      snprintf(err, n, "sysctl %s=%s: %s", s->key, jstr(s, ""), strerror(errno));
      return -1;
    }
  }
  JFOR(p, jpath(c->config, "linux.readonlyPaths")) {
    const char *path = jstr(p, "");
    if (mount(path, path, NULL, MS_BIND | MS_REC, NULL) < 0) {
      if (errno == ENOENT) continue;
      snprintf(err, n, "readonly path %s: %s", path, strerror(errno));
      return -1;
    }
    if (remount_ro(path) < 0) {
      snprintf(err, n, "readonly path %s: %s", path, strerror(errno));
      return -1;
    }
  }
  JFOR(p, jpath(c->config, "linux.maskedPaths")) {
    const char *path = jstr(p, "");
    struct stat st;
    if (stat(path, &st) < 0) continue;
    int r = S_ISDIR(st.st_mode) ? mount("tmpfs", path, "tmpfs", MS_RDONLY, NULL) : mount("/dev/null", path, NULL, MS_BIND, NULL);
    if (r < 0) {
      snprintf(err, n, "mask path %s: %s", path, strerror(errno));
      return -1;
    }
  }
  if (jbool(jpath(c->config, "root.readonly"), 0) && remount_ro("/") < 0) {
    snprintf(err, n, "make root read-only: %s", strerror(errno));
    return -1;
  }
  return 0;
}
