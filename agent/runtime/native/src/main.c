/* tsc-runtime: an OCI runtime with runc's command line.
 *   tsc-runtime [--root DIR] [--log FILE] [--log-format text|json] COMMAND [FLAGS] ID
 * Commands: create, start, run, state, kill, delete, pause, resume, ps, list, update. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rt.h"
#include "util.h"

#define DEFAULT_ROOT "/run/tsc-runtime"

static void usage(void) {
  fprintf(stderr,
          "usage: %s [--root DIR] [--log FILE] [--log-format text|json] COMMAND [OPTIONS] ID\n"
          "commands:\n"
          "  create [--bundle DIR] [--pid-file FILE] [--console-socket SOCK] [--preserve-fds N] ID\n"
          "  run [--bundle DIR] [--detach] [--pid-file FILE] [--console-socket SOCK] ID\n"
          "  start ID | state ID | kill [--all] ID [SIGNAL] | delete [--force] ID\n"
          "  exec [--detach] [--process FILE] [--env K=V] [--cwd DIR] [--user UID[:GID]] [--pid-file FILE] ID CMD...\n"
          "  pause ID | resume ID | ps [--format table|json] ID | list | update --resources FILE|- ID\n"
          "  events --stats ID | spec [--bundle DIR] (writes a config.json with Docker's defaults)\n",
          RT_NAME);
}

/* Flag parsing shared by all commands: "--name value", "--name=value", "-n value", booleans. */
typedef struct {
  int argc, i;
  char **argv;
  const char *val;
} args;

static int flag(args *a, const char *lng, const char *shrt, int takes_value) {
  const char *s = a->argv[a->i];
  size_t n = strlen(lng);
  if (!strncmp(s, lng, n) && s[n] == '=' && takes_value) {
    a->val = s + n + 1;
    return 1;
  }
  if (strcmp(s, lng) && (!shrt || strcmp(s, shrt))) {
    /* "-name" as well as "--name", as Go's flag package allows */
    if (!(s[0] == '-' && s[1] != '-' && !strcmp(s + 1, lng + 2))) return 0;
  }
  if (takes_value) {
    if (a->i + 1 >= a->argc) die("flag %s needs a value", lng);
    a->val = a->argv[++a->i];
  }
  return 1;
}

static long long parse_size(const char *s) {
  char *end;
  double v = strtod(s, &end);
  switch (*end | 32) {
    case 'k': v *= 1024; break;
    case 'm': v *= 1024 * 1024; break;
    case 'g': v *= 1024.0 * 1024 * 1024; break;
  }
  return (long long)v;
}

static void check_id(const char *id) {
  if (!id || !*id) die("container id cannot be empty");
  for (const char *p = id; *p; p++)
    if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || strchr("_+-.", *p)))
      die("invalid container id format: %s", id);
  if (!strcmp(id, ".") || !strcmp(id, "..")) die("invalid container id format: %s", id);
}

static void load_bundle(container *c, const char *bundle) {
  char abs[PATH_MAX], err[1024];
  if (!realpath(bundle, abs)) die("bundle %s: %s", bundle, strerror(errno));
  c->bundle = xstrdup(abs);
  char *cfgpath = xprintf("%s/config.json", c->bundle);
  if (access(cfgpath, F_OK) < 0) die("bundle %s: config.json: %s", c->bundle, strerror(errno));
  c->config = json_parse_file(cfgpath, err, sizeof err);
  if (!c->config) die("bundle %s: %s", c->bundle, err);
  if (c->config->t != J_OBJ) die("%s: the document must be an object", cfgpath);
  const char *rootpath = jstr(jpath(c->config, "root.path"), NULL);
  if (!rootpath) die("%s: root.path is required", cfgpath);
  char *rootfs = rootpath[0] == '/' ? xstrdup(rootpath) : xprintf("%s/%s", c->bundle, rootpath);
  if (!realpath(rootfs, abs)) die("%s: root.path: rootfs (%s) does not exist", cfgpath, rootfs);
  c->rootfs = xstrdup(abs);
  const jval *proc = jget(c->config, "process");
  if (!proc) die("%s: process is required", cfgpath);
  if (jlen(jget(proc, "args")) == 0) die("%s: process.args must not be empty", cfgpath);
  const jval *cwd = jget(proc, "cwd");
  if (cwd && jstr(cwd, "")[0] != '/') die("%s: process.cwd must be an absolute path, not \"%s\"", cfgpath, jstr(cwd, ""));
  c->annotations = jget(c->config, "annotations");
  c->log_path = jstr(jget(c->annotations, "io.tsc-compose.log-path"), NULL);
  const char *ms = jstr(jget(c->annotations, "io.tsc-compose.log-max-size"), NULL),
             *mf = jstr(jget(c->annotations, "io.tsc-compose.log-max-file"), NULL);
  c->log_max_size = ms ? parse_size(ms) : 0;
  c->log_max_file = mf ? atoi(mf) : 1;
}

static int do_create(const char *root, args *a, int run) {
  container c;
  memset(&c, 0, sizeof c);
  const char *bundle = ".";
  int detach = !run;
  for (a->i++; a->i < a->argc && a->argv[a->i][0] == '-'; a->i++) {
    if (flag(a, "--bundle", "-b", 1)) bundle = a->val;
    else if (flag(a, "--pid-file", NULL, 1)) c.pid_file = a->val;
    else if (flag(a, "--console-socket", NULL, 1)) c.console_socket = a->val;
    else if (flag(a, "--preserve-fds", NULL, 1)) c.preserve_fds = atoi(a->val);
    else if (flag(a, "--detach", "-d", 0)) detach = 1;
    else if (flag(a, "--no-pivot", NULL, 0) || flag(a, "--no-new-keyring", NULL, 0) || flag(a, "--keep", NULL, 0)) continue;
    else die("unknown flag %s for %s", a->argv[a->i], run ? "run" : "create");
  }
  c.id = a->i < a->argc ? a->argv[a->i] : NULL;
  check_id(c.id);
  c.root = root;
  if (mkdir_p(root, 0711) < 0) die_errno("create root %s", root);
  char abs[PATH_MAX];
  if (realpath(root, abs)) c.root = xstrdup(abs);
  c.statedir = state_dir(c.root, c.id);
  if (c.pid_file && c.pid_file[0] != '/' && realpath(".", abs)) c.pid_file = xprintf("%s/%s", abs, c.pid_file);
  load_bundle(&c, bundle);
  if (!run || detach) return create_container(&c, 0, run);
  int code = create_container(&c, 1, 1);
  cgroups_destroy(&c.cg);
  state_remove(c.statedir);
  return code;
}

/* Test hook: write linux.resources of a config onto a directory as cgroup v1 (a subdirectory
 * per controller) or v2 files, so the formats can be checked without those controllers. */
static int do_cgroup_apply(args *a) {
  if (a->argc - a->i < 4) die("usage: __cgroup-apply v1|v2 DIR RESOURCES_JSON_FILE");
  const char *ver = a->argv[a->i + 1], *dir = a->argv[a->i + 2], *file = a->argv[a->i + 3];
  cgroups cg = {0};
  cg.v2 = !strcmp(ver, "v2");
  if (cg.v2) {
    cg.n = 1, cg.ctrl[0] = "unified", cg.dir[0] = (char *)dir;
  } else {
    static char *const ctrls[] = {"memory", "cpu", "cpuset", "pids", "blkio", "devices", "freezer"};
    for (int i = 0; i < 7; i++) {
      cg.ctrl[i] = ctrls[i];
      cg.dir[i] = xprintf("%s/%s", dir, ctrls[i]);
      mkdir_p(cg.dir[i], 0755);
    }
    cg.n = 7;
  }
  char err[512];
  jval *res = json_parse_file(file, err, sizeof err);
  if (!res) die("%s", err);
  if (cgroups_apply(&cg, res, err, sizeof err) < 0) die("%s", err);
  return 0;
}

int main(int argc, char **argv) {
  args a = {argc, 1, argv, NULL};
  const char *root = DEFAULT_ROOT;
  for (; a.i < argc && argv[a.i][0] == '-'; a.i++) {
    if (flag(&a, "--root", NULL, 1)) root = a.val;
    else if (flag(&a, "--log", NULL, 1)) g_log_path = a.val;
    else if (flag(&a, "--log-format", NULL, 1)) g_log_json = !strcmp(a.val, "json");
    else if (flag(&a, "--debug", NULL, 0)) continue;
    else if (flag(&a, "--systemd-cgroup", NULL, 0)) die("--systemd-cgroup is not supported");
    else if (flag(&a, "--version", "-v", 0)) {
      printf("%s version 0.1.0\nspec: %s\n", RT_NAME, OCI_VERSION);
      return 0;
    } else if (flag(&a, "--help", "-h", 0)) {
      usage();
      return 0;
    } else die("unknown global flag %s", argv[a.i]);
  }
  if (a.i >= argc) {
    usage();
    return 1;
  }
  const char *cmd = argv[a.i];
  if (!strcmp(cmd, "create")) return do_create(root, &a, 0);
  if (!strcmp(cmd, "run")) return do_create(root, &a, 1);
  if (!strcmp(cmd, "__cgroup-apply")) return do_cgroup_apply(&a);
  if (!strcmp(cmd, "list")) return cmd_list(root);
  if (!strcmp(cmd, "spec")) {
    const char *bundle = ".";
    for (a.i++; a.i < argc; a.i++)
      if (flag(&a, "--bundle", "-b", 1)) bundle = a.val;
      else die("unknown flag %s for spec", argv[a.i]);
    return cmd_spec(bundle);
  }
  if (!strcmp(cmd, "exec")) return cmd_exec(root, argc - a.i - 1, argv + a.i + 1);
  int force = 0, all = 0, json = 0, stats = 0;
  const char *resources = NULL;
  for (a.i++; a.i < argc && argv[a.i][0] == '-'; a.i++) {
    if (flag(&a, "--force", "-f", 0)) force = 1;
    else if (flag(&a, "--all", "-a", 0)) all = 1;
    else if (flag(&a, "--format", "-f", 1)) json = !strcmp(a.val, "json");
    else if (flag(&a, "--resources", "-r", 1)) resources = a.val;
    else if (flag(&a, "--stats", NULL, 0)) stats = 1;
    else die("unknown flag %s for %s", argv[a.i], cmd);
  }
  const char *id = a.i < argc ? argv[a.i] : NULL;
  check_id(id);
  if (!strcmp(cmd, "start")) return cmd_start(root, id);
  if (!strcmp(cmd, "state")) return cmd_state(root, id);
  if (!strcmp(cmd, "kill")) return cmd_kill(root, id, a.i + 1 < argc ? argv[a.i + 1] : NULL, all);
  if (!strcmp(cmd, "delete")) return cmd_delete(root, id, force);
  if (!strcmp(cmd, "pause")) return cmd_pause(root, id, 1);
  if (!strcmp(cmd, "resume")) return cmd_pause(root, id, 0);
  if (!strcmp(cmd, "ps")) return cmd_ps(root, id, json);
  if (!strcmp(cmd, "events")) {
    if (!stats) die("events: only --stats is supported");
    return cmd_stats(root, id);
  }
  if (!strcmp(cmd, "update")) {
    if (!resources) die("update: --resources FILE (or - for stdin) is required");
    char *text = !strcmp(resources, "-") ? read_file("/dev/stdin", NULL) : read_file(resources, NULL);
    if (!text) die_errno("read %s", resources);
    return cmd_update(root, id, text);
  }
  usage();
  die("unknown command %s", cmd);
}
