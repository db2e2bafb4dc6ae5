/* What the commands share: the container being worked on and the entry points of each file. */
#ifndef TSC_RT_H
#define TSC_RT_H
#include <stddef.h>
#include <sys/types.h>

#include "json.h"

#define MAX_CG 16

/* The cgroups of one container: v1 has a directory per hierarchy, v2 one directory. */
typedef struct {
  int v2;
  int n;
  char *ctrl[MAX_CG]; /* v1: the hierarchy's controllers as mounted ("memory", "cpu,cpuacct", "name=systemd"); v2: "unified" */
  char *dir[MAX_CG];  /* absolute directory of the container's cgroup in that hierarchy */
} cgroups;

typedef struct {
  const char *root;     /* --root: where container state directories live */
  const char *id;
  const char *statedir; /* root/id */
  const char *bundle;   /* absolute */
  const char *rootfs;   /* absolute */
  jval *config;
  /* create options */
  const char *pid_file;
  const char *console_socket;
  int preserve_fds;
  /* logs the monitor writes (from annotations) */
  const char *log_path;
  long long log_max_size;
  int log_max_file;
  int in_r, in_w; /* container stdin pipe when io.tsc-compose.stdin is "true", else -1 */
  cgroups cg;
  /* from state.json */
  pid_t pid, monitor_pid;
  unsigned long long starttime;
  char created[64];
  jval *annotations;
} container;

/* state.c */
char *state_dir(const char *root, const char *id);
int state_write(container *c);
int state_load(container *c, const char *root, const char *id); /* -1: no such container */
const char *state_status(container *c);                          /* created, running, paused, stopped */
unsigned long long proc_starttime(pid_t pid);                     /* 0 when the process is gone */
int pid_alive(pid_t pid, unsigned long long starttime);
void state_print(container *c, const char *status);
jval *state_exit(container *c); /* parsed exit.json, or NULL while the container has not exited */
void state_remove(const char *statedir);

/* create.c: create (detached monitor) and run (monitor in this process). Return the exit code of the command. */
int create_container(container *c, int foreground, int start_now);

/* init.c: runs in the container's first process; never returns. */
_Noreturn void init_main(container *c, int sock, int log_out, int log_err, int console_fd);

/* process.c: what the container's processes share, from limits to execve */
typedef struct {
  char *exe;
  char **argv, **envp;
  int nnp;
  const char *sc_prog;
  size_t sc_len;
} execplan;
extern int g_fail_fd; /* where fail() sends "E<message>" (stderr when -1) */
_Noreturn void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void process_prepare(const jval *proc, const char *sc_prog, size_t sc_len, execplan *ep);
_Noreturn void process_exec(execplan *ep);
int cmd_exec(const char *root, int argc, char **argv);
void pid1_fork(int sock); /* returns in the child; the parent stays PID 1 until it exits */

/* mounts.c: everything from the root filesystem to pivot_root, then masked/readonly paths. */
int rootfs_setup(container *c, char *err, size_t n);
int rootfs_finalize(container *c, char *err, size_t n);

/* caps.c */
int cap_from_name(const char *name);
int caps_drop_bounding(const jval *caps, char *err, size_t n);
int caps_apply(const jval *caps, char *err, size_t n);

/* cgroups.c */
int cgroups_create(container *c, char *err, size_t n);
int cgroups_join(container *c, pid_t pid, char *err, size_t n);
int cgroups_apply(const cgroups *cg, const jval *resources, char *err, size_t n);
int cgroups_destroy(const cgroups *cg);
int cgroups_freeze(const cgroups *cg, int freeze, char *err, size_t n);
int cgroups_frozen(const cgroups *cg);
int cgroups_pids(const cgroups *cg, pid_t *out, int max);
long long cgroups_oom_kills(const cgroups *cg);
const char *cgroups_dir(const cgroups *cg, const char *ctrl);
int cgroups_mount(const cgroups *cg, const char *dest, unsigned long flags, char *err, size_t n);

/* monitor.c: the container's parent until it exits. Returns the wait status. */
typedef struct {
  container *c;
  pid_t init;
  int sock;        /* to the init process: start and exec result */
  int out, err;    /* log pipes, or -1 */
  int in;          /* write end of the container's stdin (a terminal's: its master), or -1 */
  int attached;    /* the client whose bytes go to stdin, or -1 */
  int pty;         /* the terminal's master when the monitor keeps it, or -1 */
  int ctl;         /* listening control socket, or -1 */
  int foreground;  /* forward signals to the container */
  int started;
  /* A terminal's attached client ("attach") also gets its output. Neither side waits for the
   * other: input not yet taken by the terminal and output not yet taken by the client wait in
   * these buffers (the client is dropped when it falls too far behind). */
  int att_tty;      /* the attached client gets the terminal's output */
  int att_in_done;  /* it closed its sending side */
  char *inbuf;      /* client bytes not yet written to `in` */
  size_t inlen, inoff;
  char *outbuf;     /* terminal output not yet sent to the client */
  size_t outlen, outcap;
  char *replay;     /* terminal output since start, until the first attach (for "attach start") */
  size_t replaylen;
  int replay_done;
} monitor;
int monitor_start_init(monitor *m, char *err, size_t n); /* tells init to exec; 0 when it did */
int monitor_loop(monitor *m);
int exit_code_of(int wstatus);

/* jsonlog.c: Docker's json-file format with rotation. */
typedef struct {
  const char *path;
  long long max_size; /* bytes, 0 = no rotation */
  int max_file;
  int fd;
  long long size;
  char *part[2];      /* a line not yet ended, per stream */
  size_t partlen[2];
} jsonlog;
int jsonlog_open(jsonlog *l);
void jsonlog_write(jsonlog *l, int stream, const char *buf, size_t n); /* 0 stdout, 1 stderr */
void jsonlog_flush(jsonlog *l);

/* commands.c */
int cmd_start(const char *root, const char *id);
int cmd_state(const char *root, const char *id);
int cmd_kill(const char *root, const char *id, const char *sig, int all);
int cmd_delete(const char *root, const char *id, int force);
int cmd_pause(const char *root, const char *id, int pause);
int cmd_ps(const char *root, const char *id, int json);
int cmd_list(const char *root);
int cmd_stats(const char *root, const char *id);
int cmd_spec(const char *bundle);
int cmd_update(const char *root, const char *id, const char *resources_file);
int signal_from_name(const char *s);

/* ctl socket: one request line per connection, one reply line */
int ctl_request(const char *statedir, const char *req, char *reply, size_t n);
int ctl_listen(const char *statedir);

/* hooks.c: kind is "prestart", "createRuntime", "poststart" or "poststop" */
int hooks_run(const container *c, const char *kind, const char *status, char *err, size_t n);

/* seccomp.c */
/* prog: raw struct sock_filter[] (8 bytes each, host order), as agent/runtime/seccomp compiles it */
int seccomp_install(const char *prog, size_t len, char *err, size_t n);
#endif
