/* Container output as Docker's json-file driver writes it: one {"log","stream","time"} object per
 * line, the line's "\n" kept inside "log"; a line longer than 16 KiB is cut into pieces. With
 * max-size the file is rotated to path.1 .. path.(max-file - 1). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rt.h"
#include "util.h"

#define PART_MAX 16384

int jsonlog_open(jsonlog *l) {
  l->fd = open(l->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  if (l->fd < 0) return -1;
  struct stat st;
  l->size = fstat(l->fd, &st) == 0 ? st.st_size : 0;
  for (int i = 0; i < 2; i++)
    if (!l->part[i]) l->part[i] = malloc(PART_MAX);
  return 0;
}

static void rotate(jsonlog *l) {
  if (l->max_file <= 1) {
    if (ftruncate(l->fd, 0) == 0) l->size = 0;
    return;
  }
  char from[4096], to[4096];
  for (int i = l->max_file - 1; i >= 1; i--) {
    if (i == 1) snprintf(from, sizeof from, "%s", l->path);
    else snprintf(from, sizeof from, "%s.%d", l->path, i - 1);
    snprintf(to, sizeof to, "%s.%d", l->path, i);
    rename(from, to);
  }
  close(l->fd);
  jsonlog_open(l);
}

static void emit(jsonlog *l, int stream, const char *s, size_t n) {
  char ts[64];
  rfc3339_now(ts, sizeof ts);
  size_t cap = n * 6 + 128;
  char *line = malloc(cap);
  if (!line) return;
  size_t len = (size_t)snprintf(line, cap, "{\"log\":\"");
  len = json_escape(line, len, cap, s, n);
  len += (size_t)snprintf(line + len, cap - len, "\",\"stream\":\"%s\",\"time\":\"%s\"}\n", stream ? "stderr" : "stdout", ts);
  if (l->max_size > 0 && l->size > 0 && l->size + (long long)len > l->max_size) rotate(l);
  if (write_all(l->fd, line, len) == 0) l->size += (long long)len;
  free(line);
}

void jsonlog_write(jsonlog *l, int stream, const char *buf, size_t n) {
  char *part = l->part[stream];
  size_t *pl = &l->partlen[stream];
  for (size_t i = 0; i < n; i++) {
    part[(*pl)++] = buf[i];
    if (buf[i] == '\n' || *pl == PART_MAX) {
      emit(l, stream, part, *pl);
      *pl = 0;
    }
  }
}

void jsonlog_flush(jsonlog *l) {
  for (int s = 0; s < 2; s++)
    if (l->partlen[s]) {
      emit(l, s, l->part[s], l->partlen[s]);
      l->partlen[s] = 0;
    }
}
