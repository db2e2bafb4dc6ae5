#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "json.h"

/* The arena: config trees are made of many small pieces that all live until exit, so a bump
 * allocator over mmap'ed chunks is both faster than malloc and lets the monitor drop it all. */
typedef struct chunk { struct chunk *prev; size_t size, used; } chunk;
static chunk *arena;

void *xalloc(size_t n) {
  n = (n + 15) & ~(size_t)15;
  if (!arena || arena->used + n > arena->size) {
    size_t size = n + sizeof(chunk) + 16 > 256 * 1024 ? n + sizeof(chunk) + 16 : 256 * 1024;
    chunk *c = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (c == MAP_FAILED) die("out of memory");
    c->prev = arena;
    c->size = size;
    c->used = (sizeof(chunk) + 15) & ~(size_t)15;
    arena = c;
  }
  void *p = (char *)arena + arena->used;
  arena->used += n;
  return p;
}

void arena_release(void) {
  while (arena) {
    chunk *p = arena->prev;
    munmap(arena, arena->size);
    arena = p;
  }
}

char *xstrndup(const char *s, size_t n) {
  char *d = xalloc(n + 1);
  memcpy(d, s, n);
  d[n] = 0;
  return d;
}

char *xstrdup(const char *s) { return xstrndup(s, strlen(s)); }

char *xprintf(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  char *s = xalloc((size_t)n + 1);
  va_start(ap, fmt);
  vsnprintf(s, (size_t)n + 1, fmt, ap);
  va_end(ap);
  return s;
}

char *read_file(const char *path, size_t *len) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return NULL;
  size_t cap = 4096, n = 0;
  struct stat st;
  if (fstat(fd, &st) == 0 && st.st_size > 0) cap = (size_t)st.st_size + 1;
  char *buf = xalloc(cap + 1);
  for (;;) {
    if (n == cap) {
      char *bigger = xalloc(cap * 2 + 1);
      memcpy(bigger, buf, n);
      buf = bigger;
      cap *= 2;
    }
    ssize_t r = read(fd, buf + n, cap - n);
    if (r < 0) {
      if (errno == EINTR) continue;
      int e = errno;
      close(fd);
      errno = e;
      return NULL;
    }
    if (r == 0) break;
    n += (size_t)r;
  }
  close(fd);
  buf[n] = 0;
  if (len) *len = n;
  return buf;
}

int write_all(int fd, const void *buf, size_t n) {
  const char *p = buf;
  while (n) {
    ssize_t w = write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    p += w, n -= (size_t)w;
  }
  return 0;
}

ssize_t read_all(int fd, void *buf, size_t n) {
  size_t got = 0;
  while (got < n) {
    ssize_t r = read(fd, (char *)buf + got, n - got);
    if (r < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    if (r == 0) break;
    got += (size_t)r;
  }
  return (ssize_t)got;
}

int write_file(const char *path, const char *data) {
  int fd = open(path, O_WRONLY | O_CLOEXEC | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) return -1;
  int r = write_all(fd, data, strlen(data));
  int e = errno;
  close(fd);
  errno = e;
  return r;
}

int write_file_atomic(const char *path, const char *data) {
  char tmp[4096];
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  if (write_file(tmp, data) < 0) return -1;
  return rename(tmp, path);
}

int mkdir_p(const char *path, mode_t mode) {
  char buf[4096];
  size_t n = strlen(path);
  if (n >= sizeof buf) { errno = ENAMETOOLONG; return -1; }
  memcpy(buf, path, n + 1);
  for (char *p = buf + 1; *p; p++) {
    if (*p != '/') continue;
    *p = 0;
    if (mkdir(buf, mode) < 0 && errno != EEXIST) return -1;
    *p = '/';
  }
  if (mkdir(buf, mode) < 0 && errno != EEXIST) return -1;
  return 0;
}

const char *g_log_path;
int g_log_json;

static void vlog(const char *level, const char *fmt, va_list ap) {
  char msg[4096];
  vsnprintf(msg, sizeof msg, fmt, ap);
  if (!strcmp(level, "error")) fprintf(stderr, "%s: %s\n", RT_NAME, msg);
  if (!g_log_path) return;
  int fd = open(g_log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return;
  char line[8400], ts[64];
  rfc3339_now(ts, sizeof ts);
  size_t len;
  if (g_log_json) {
    len = (size_t)snprintf(line, sizeof line, "{\"level\":\"%s\",\"msg\":\"", level);
    len = json_escape(line, len, sizeof line - 64, msg, strlen(msg));
    len += (size_t)snprintf(line + len, sizeof line - len, "\",\"time\":\"%s\"}\n", ts);
  } else {
    len = (size_t)snprintf(line, sizeof line, "time=\"%s\" level=%s msg=\"%s\"\n", ts, level, msg);
  }
  write_all(fd, line, len < sizeof line ? len : sizeof line - 1);
  close(fd);
}

void rt_log(const char *level, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vlog(level, fmt, ap);
  va_end(ap);
}

void die(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vlog("error", fmt, ap);
  va_end(ap);
  exit(1);
}

void die_errno(const char *fmt, ...) {
  char msg[2048];
  int e = errno;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  die("%s: %s", msg, strerror(e));
}

void rfc3339_now(char *buf, size_t n) {
  struct timespec ts;
  struct tm tm;
  clock_gettime(CLOCK_REALTIME, &ts);
  gmtime_r(&ts.tv_sec, &tm);
  size_t k = strftime(buf, n, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(buf + k, n - k, ".%09ldZ", ts.tv_nsec);
}

long long monotonic_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void sleep_ms(int ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {}
}

const char *errstr(int e) {
  static char buf[128];
  snprintf(buf, sizeof buf, "%s", strerror(e));
  if (buf[0] >= 'A' && buf[0] <= 'Z' && !(buf[1] >= 'A' && buf[1] <= 'Z')) buf[0] = (char)(buf[0] - 'A' + 'a');
  return buf;
}

int send_fd(int sock, int fd) {
  char dummy = 'P';
  struct iovec iov = {&dummy, 1};
  char cbuf[CMSG_SPACE(sizeof(int))];
  memset(cbuf, 0, sizeof cbuf);
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf};
  struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
  cm->cmsg_level = SOL_SOCKET;
  cm->cmsg_type = SCM_RIGHTS;
  cm->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(cm), &fd, sizeof fd);
  return sendmsg(sock, &msg, MSG_NOSIGNAL) < 0 ? -1 : 0;
}

int recv_fd(int sock) {
  char dummy;
  struct iovec iov = {&dummy, 1};
  char cbuf[CMSG_SPACE(sizeof(int))];
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf};
  if (recvmsg(sock, &msg, MSG_CMSG_CLOEXEC) <= 0) return -1;
  struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
  if (!cm || cm->cmsg_type != SCM_RIGHTS) return -1;
  int fd;
  memcpy(&fd, CMSG_DATA(cm), sizeof fd);
  return fd;
}

int open_pty(int *slave_out, char *err, size_t n) {
  int master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0) {
    snprintf(err, n, "open /dev/ptmx: %s", strerror(errno));
    return -1;
  }
  int unlock = 0, ptn;
  if (ioctl(master, TIOCSPTLCK, &unlock) < 0 || ioctl(master, TIOCGPTN, &ptn) < 0) {
    snprintf(err, n, "unlock pty: %s", strerror(errno));
    close(master);
    return -1;
  }
  char path[64];
  snprintf(path, sizeof path, "/dev/pts/%d", ptn);
  *slave_out = open(path, O_RDWR | O_NOCTTY);
  if (*slave_out < 0) {
    snprintf(err, n, "open %s: %s", path, strerror(errno));
    close(master);
    return -1;
  }
  return master;
}
