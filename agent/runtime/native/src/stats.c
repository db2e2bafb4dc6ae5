/* `events --stats ID`: one stats object read back from the cgroups, in runc's shape
 * ({"type":"stats","id":...,"data":{cpu, memory, pids, blkio}}), for v1 and v2. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rt.h"
#include "util.h"

static unsigned long long num(const char *dir, const char *file) {
  char *s = dir ? read_file(xprintf("%s/%s", dir, file), NULL) : NULL;
  if (!s || !strncmp(s, "max", 3)) return 0;
  return strtoull(s, NULL, 10);
}

/* "key value" lines (cpu.stat, memory.stat): the value of key, or 0 */
static unsigned long long keyed(const char *dir, const char *file, const char *key) {
  char *s = dir ? read_file(xprintf("%s/%s", dir, file), NULL) : NULL;
  size_t n = strlen(key);
  for (char *line = s ? strtok(s, "\n") : NULL; line; line = strtok(NULL, "\n"))
    if (!strncmp(line, key, n) && line[n] == ' ') return strtoull(line + n + 1, NULL, 10);
  return 0;
}

static void blkio_v1(const char *dir) {
  char *s = dir ? read_file(xprintf("%s/blkio.throttle.io_service_bytes", dir), NULL) : NULL;
  int first = 1;
  printf("\"io_service_bytes_recursive\":[");
  for (char *line = s ? strtok(s, "\n") : NULL; line; line = strtok(NULL, "\n")) {
    unsigned maj, min;
    char op[16];
    unsigned long long v;
    if (sscanf(line, "%u:%u %15s %llu", &maj, &min, op, &v) != 4) continue;
    printf("%s{\"major\":%u,\"minor\":%u,\"op\":\"%s\",\"value\":%llu}", first ? "" : ",", maj, min, op, v);
    first = 0;
  }
  printf("]");
}

static void blkio_v2(const char *dir) {
  char *s = dir ? read_file(xprintf("%s/io.stat", dir), NULL) : NULL;
  int first = 1;
  printf("\"io_service_bytes_recursive\":[");
  for (char *line = s ? strtok(s, "\n") : NULL; line; line = strtok(NULL, "\n")) {
    unsigned maj, min;
    unsigned long long rb = 0, wb = 0;
    if (sscanf(line, "%u:%u", &maj, &min) != 2) continue;
    char *r = strstr(line, "rbytes="), *w = strstr(line, "wbytes=");
    if (r) rb = strtoull(r + 7, NULL, 10);
    if (w) wb = strtoull(w + 7, NULL, 10);
    printf("%s{\"major\":%u,\"minor\":%u,\"op\":\"Read\",\"value\":%llu},{\"major\":%u,\"minor\":%u,\"op\":\"Write\",\"value\":%llu}",
           first ? "" : ",", maj, min, rb, maj, min, wb);
    first = 0;
  }
  printf("]");
}

int cmd_stats(const char *root, const char *id) {
  container c;
  if (state_load(&c, root, id) < 0) die("container does not exist: %s", id);
  if (!strcmp(state_status(&c), "stopped")) die("container %s is not running", id);
  const cgroups *cg = &c.cg;
  printf("{\"type\":\"stats\",\"id\":");
  json_write_str(stdout, id);
  printf(",\"data\":{");
  if (cg->v2) {
    const char *d = cg->n ? cg->dir[0] : NULL;
    printf("\"cpu\":{\"usage\":{\"total\":%llu}},", keyed(d, "cpu.stat", "usage_usec") * 1000);
    printf("\"memory\":{\"usage\":{\"usage\":%llu,\"limit\":%llu,\"max\":%llu},\"cache\":%llu},", num(d, "memory.current"),
           num(d, "memory.max"), num(d, "memory.peak"), keyed(d, "memory.stat", "file"));
    printf("\"pids\":{\"current\":%llu,\"limit\":%llu},\"blkio\":{", num(d, "pids.current"), num(d, "pids.max"));
    blkio_v2(d);
  } else {
    const char *cpu = cgroups_dir(cg, "cpuacct"), *mem = cgroups_dir(cg, "memory"), *pids = cgroups_dir(cg, "pids");
    printf("\"cpu\":{\"usage\":{\"total\":%llu}},", num(cpu, "cpuacct.usage"));
    printf("\"memory\":{\"usage\":{\"usage\":%llu,\"limit\":%llu,\"max\":%llu,\"failcnt\":%llu},\"cache\":%llu},",
           num(mem, "memory.usage_in_bytes"), num(mem, "memory.limit_in_bytes"), num(mem, "memory.max_usage_in_bytes"),
           num(mem, "memory.failcnt"), keyed(mem, "memory.stat", "cache"));
    printf("\"pids\":{\"current\":%llu,\"limit\":%llu},\"blkio\":{", num(pids, "pids.current"), num(pids, "pids.max"));
    blkio_v1(cgroups_dir(cg, "blkio"));
  }
  printf("}}}\n");
  return 0;
}
