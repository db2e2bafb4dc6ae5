/* The state directory of a container: state.json (written once by create), exit.json (written by
 * the monitor when the container exits), started (when start ran). Status is derived from these
 * and from whether the init process is still the one we started (pid + start time). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rt.h"
#include "util.h"

char *state_dir(const char *root, const char *id) { return xprintf("%s/%s", root, id); }

unsigned long long proc_starttime(pid_t pid) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
  char *s = read_file(path, NULL);
  if (!s) return 0;
  char *p = strrchr(s, ')');
  if (!p) return 0;
  /* after ") " come fields 3.. ; starttime is field 22 */
  p += 2;
  int field = 3;
  while (*p && field < 22) {
    if (*p++ == ' ') field++;
  }
  if (p[0] == 0) return 0;
  /* a zombie has exited: treat it as gone */
  char st = *(strrchr(s, ')') + 2);
  if (st == 'Z' || st == 'X') return 0;
  return strtoull(p, NULL, 10);
}

int pid_alive(pid_t pid, unsigned long long starttime) {
  if (pid <= 0) return 0;
  unsigned long long st = proc_starttime(pid);
  return st != 0 && st == starttime;
}

int state_write(container *c) {
  char *path = xprintf("%s/state.json", c->statedir), *tmp = xprintf("%s.tmp", path);
  FILE *f = fopen(tmp, "we");
  if (!f) return -1;
  fprintf(f, "{\"ociVersion\":\"%s\",\"id\":", OCI_VERSION);
  json_write_str(f, c->id);
  fprintf(f, ",\"pid\":%d,\"starttime\":%llu,\"monitorPid\":%d,\"bundle\":", (int)c->pid, c->starttime, (int)c->monitor_pid);
  json_write_str(f, c->bundle);
  fputs(",\"rootfs\":", f);
  json_write_str(f, c->rootfs);
  fprintf(f, ",\"created\":\"%s\",\"cgroups\":{\"v2\":%s,\"paths\":{", c->created, c->cg.v2 ? "true" : "false");
  for (int i = 0; i < c->cg.n; i++) {
    if (i) fputc(',', f);
    json_write_str(f, c->cg.ctrl[i]);
    fputc(':', f);
    json_write_str(f, c->cg.dir[i]);
  }
  fputs("}}", f);
  if (c->annotations && c->annotations->t == J_OBJ) {
    fputs(",\"annotations\":", f);
    json_write(f, c->annotations);
  }
  fputs("}\n", f);
  if (fclose(f) != 0) return -1;
  return rename(tmp, path);
}

int state_load(container *c, const char *root, const char *id) {
  memset(c, 0, sizeof *c);
  c->root = root;
  c->id = id;
  c->statedir = state_dir(root, id);
  char err[512];
  jval *s = json_parse_file(xprintf("%s/state.json", c->statedir), err, sizeof err);
  if (!s) return -1;
  c->pid = (pid_t)jint(jget(s, "pid"), 0);
  c->starttime = juint(jget(s, "starttime"), 0);
  c->monitor_pid = (pid_t)jint(jget(s, "monitorPid"), 0);
  c->bundle = jstr(jget(s, "bundle"), "");
  c->rootfs = jstr(jget(s, "rootfs"), "");
  snprintf(c->created, sizeof c->created, "%s", jstr(jget(s, "created"), ""));
  c->annotations = jget(s, "annotations");
  jval *cg = jget(s, "cgroups");
  c->cg.v2 = jbool(jget(cg, "v2"), 0);
  JFOR(p, jget(cg, "paths")) {
    if (c->cg.n == MAX_CG) break;
    c->cg.ctrl[c->cg.n] = p->key;
    c->cg.dir[c->cg.n] = p->str;
    c->cg.n++;
  }
  return 0;
}

jval *state_exit(container *c) {
  char err[512];
  return json_parse_file(xprintf("%s/exit.json", c->statedir), err, sizeof err);
}

const char *state_status(container *c) {
  if (access(xprintf("%s/exit.json", c->statedir), F_OK) == 0) return "stopped";
  if (!pid_alive(c->pid, c->starttime)) {
    /* exited: give the monitor a moment to record how, so stopped always comes with its exit */
    long long deadline = monotonic_ms() + 2000;
    while (c->monitor_pid > 0 && proc_starttime(c->monitor_pid) != 0 && monotonic_ms() < deadline &&
           access(xprintf("%s/exit.json", c->statedir), F_OK) != 0)
      sleep_ms(1);
    return "stopped";
  }
  if (access(xprintf("%s/started", c->statedir), F_OK) != 0) return "created";
  return cgroups_frozen(&c->cg) ? "paused" : "running";
}

void state_print(container *c, const char *status) {
  int stopped = !strcmp(status, "stopped");
  printf("{\n  \"ociVersion\": \"%s\",\n  \"id\": ", OCI_VERSION);
  json_write_str(stdout, c->id);
  printf(",\n  \"pid\": %d,\n  \"status\": \"%s\",\n  \"bundle\": ", stopped ? 0 : (int)c->pid, status);
  json_write_str(stdout, c->bundle);
  printf(",\n  \"rootfs\": ");
  json_write_str(stdout, c->rootfs);
  printf(",\n  \"created\": \"%s\"", c->created);
  if (c->annotations && c->annotations->child) {
    printf(",\n  \"annotations\": {");
    JFOR(a, c->annotations) {
      printf("%s\n    ", a == c->annotations->child ? "" : ",");
      json_write_str(stdout, a->key);
      printf(": ");
      json_write(stdout, a);
    }
    printf("\n  }");
  }
  printf(",\n  \"owner\": \"\"");
  jval *ex = stopped ? state_exit(c) : NULL;
  if (ex) {
    printf(",\n  \"exitStatus\": %lld,\n  \"oomKilled\": %s", jint(jget(ex, "exitCode"), 0),
           jbool(jget(ex, "oomKilled"), 0) ? "true" : "false");
  }
  printf("\n}\n");
}

void state_remove(const char *statedir) {
  static const char *const files[] = {"state.json", "state.json.tmp", "exit.json", "exit.json.tmp", "started", "ctl.sock", NULL};
  for (int i = 0; files[i]; i++) unlink(xprintf("%s/%s", statedir, files[i]));
  rmdir(statedir);
}
