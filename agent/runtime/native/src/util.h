/* Small helpers every file uses: arena memory, files, errors, time. */
#ifndef TSC_UTIL_H
#define TSC_UTIL_H
#include <stdarg.h>
#include <stddef.h>
#include <sys/types.h>

#define RT_NAME "tsc-runtime"
#define OCI_VERSION "1.0.2"

void *xalloc(size_t n);                 /* zeroed, from the arena; dies when memory runs out */
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void arena_release(void);               /* gives every arena page back (the monitor, once set up) */

char *read_file(const char *path, size_t *len);   /* whole file, NUL-terminated; NULL + errno */
int write_file(const char *path, const char *data); /* 0, or -1 + errno */
int write_file_atomic(const char *path, const char *data);
int mkdir_p(const char *path, mode_t mode);
int write_all(int fd, const void *buf, size_t n);
ssize_t read_all(int fd, void *buf, size_t n);     /* until n bytes or EOF */

/* Errors: the runtime's own message goes to stderr and, with --log, to the log file. */
extern const char *g_log_path;
extern int g_log_json;
void rt_log(const char *level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
_Noreturn void die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
_Noreturn void die_errno(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

void rfc3339_now(char *buf, size_t n); /* 2026-11-23T09:44:55.123456789Z */
/* strerror as Go prints it ("no such file or directory"), so messages read like runc's */
const char *errstr(int e);
long long monotonic_ms(void);
void sleep_ms(int ms);
/* SCM_RIGHTS over a unix socket */
int send_fd(int sock, int fd);
int recv_fd(int sock);
/* A pty from the devpts at /dev/pts: returns the master, the slave in *slave_out. */
int open_pty(int *slave_out, char *err, size_t n);
#endif
