/* JSON reader: recursive descent over the text into a tree allocated from one arena. */
#include "json.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

typedef struct {
  const char *s, *p;
  char *err;
  size_t errlen;
  int depth;
} parser;

static void perr(parser *ps, const char *what) {
  if (ps->err[0]) return;
  int line = 1, col = 1;
  for (const char *q = ps->s; q < ps->p; q++) {
    if (*q == '\n') line++, col = 1;
    else col++;
  }
  snprintf(ps->err, ps->errlen, "line %d col %d: %s", line, col, what);
}

static void ws(parser *ps) {
  while (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r') ps->p++;
}

static jval *newval(jtype t) {
  jval *v = xalloc(sizeof *v);
  v->t = t;
  return v;
}

static int hex4(const char *p, unsigned *out) {
  unsigned v = 0;
  for (int i = 0; i < 4; i++) {
    char c = p[i];
    v <<= 4;
    if (c >= '0' && c <= '9') v |= (unsigned)(c - '0');
    else if (c >= 'a' && c <= 'f') v |= (unsigned)(c - 'a' + 10);
    else if (c >= 'A' && c <= 'F') v |= (unsigned)(c - 'A' + 10);
    else return -1;
  }
  *out = v;
  return 0;
}

static size_t utf8(char *o, unsigned cp) {
  if (cp < 0x80) { o[0] = (char)cp; return 1; }
  if (cp < 0x800) { o[0] = (char)(0xC0 | (cp >> 6)); o[1] = (char)(0x80 | (cp & 0x3F)); return 2; }
  if (cp < 0x10000) {
    o[0] = (char)(0xE0 | (cp >> 12)); o[1] = (char)(0x80 | ((cp >> 6) & 0x3F)); o[2] = (char)(0x80 | (cp & 0x3F));
    return 3;
  }
  o[0] = (char)(0xF0 | (cp >> 18)); o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
  o[2] = (char)(0x80 | ((cp >> 6) & 0x3F)); o[3] = (char)(0x80 | (cp & 0x3F));
  return 4;
}

/* Decodes a string starting after the opening quote; the result never grows past the source. */
static char *pstring(parser *ps) {
  const char *start = ps->p;
  size_t n = 0;
  while (start[n] && start[n] != '"') n += start[n] == '\\' && start[n + 1] ? 2 : 1;
  char *out = xalloc(n + 4), *o = out;
  for (;;) {
    unsigned char c = (unsigned char)*ps->p;
    if (c == 0) { perr(ps, "unterminated string"); return NULL; }
    if (c == '"') { ps->p++; break; }
    if (c < 0x20) { perr(ps, "control character in string"); return NULL; }
    if (c != '\\') { *o++ = (char)c; ps->p++; continue; }
    ps->p++;
    char e = *ps->p++;
    switch (e) {
      case '"': *o++ = '"'; break;
      case '\\': *o++ = '\\'; break;
      case '/': *o++ = '/'; break;
      case 'b': *o++ = '\b'; break;
      case 'f': *o++ = '\f'; break;
      case 'n': *o++ = '\n'; break;
      case 'r': *o++ = '\r'; break;
      case 't': *o++ = '\t'; break;
      case 'u': {
        unsigned cp, lo;
        if (hex4(ps->p, &cp)) { perr(ps, "bad \\u escape"); return NULL; }
        ps->p += 4;
        if (cp >= 0xD800 && cp < 0xDC00 && ps->p[0] == '\\' && ps->p[1] == 'u' && !hex4(ps->p + 2, &lo) && lo >= 0xDC00 &&
            lo < 0xE000) {
          cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          ps->p += 6;
        }
        o += utf8(o, cp);
        break;
      }
      default: perr(ps, "bad escape in string"); return NULL;
    }
  }
  *o = 0;
  return out;
}

static jval *pvalue(parser *ps);

static jval *pcontainer(parser *ps, int obj) {
  jval *v = newval(obj ? J_OBJ : J_ARR), **tail = &v->child;
  if (++ps->depth > 200) { perr(ps, "nesting too deep"); return NULL; }
  ps->p++;
  ws(ps);
  if (*ps->p == (obj ? '}' : ']')) { ps->p++; ps->depth--; return v; }
  for (;;) {
    char *key = NULL;
    ws(ps);
    if (obj) {
      if (*ps->p != '"') { perr(ps, "expected a member name"); return NULL; }
      ps->p++;
      if (!(key = pstring(ps))) return NULL;
      ws(ps);
      if (*ps->p != ':') { perr(ps, "expected ':'"); return NULL; }
      ps->p++;
    }
    jval *m = pvalue(ps);
    if (!m) return NULL;
    m->key = key;
    *tail = m;
    tail = &m->next;
    ws(ps);
    if (*ps->p == ',') { ps->p++; continue; }
    if (*ps->p == (obj ? '}' : ']')) { ps->p++; break; }
    perr(ps, obj ? "expected ',' or '}'" : "expected ',' or ']'");
    return NULL;
  }
  ps->depth--;
  return v;
}

static jval *pvalue(parser *ps) {
  ws(ps);
  const char *p = ps->p;
  switch (*p) {
    case '{': return pcontainer(ps, 1);
    case '[': return pcontainer(ps, 0);
    case '"': {
      ps->p++;
      jval *v = newval(J_STR);
      return (v->str = pstring(ps)) ? v : NULL;
    }
    case 't': if (!strncmp(p, "true", 4)) { ps->p += 4; return newval(J_TRUE); } break;
    case 'f': if (!strncmp(p, "false", 5)) { ps->p += 5; return newval(J_FALSE); } break;
    case 'n': if (!strncmp(p, "null", 4)) { ps->p += 4; return newval(J_NULL); } break;
    default:
      if (*p == '-' || (*p >= '0' && *p <= '9')) {
        const char *q = p + (*p == '-');
        if (!(*q >= '0' && *q <= '9')) break;
        while ((*q >= '0' && *q <= '9') || *q == '.' || *q == 'e' || *q == 'E' || *q == '+' || *q == '-') q++;
        jval *v = newval(J_NUM);
        v->str = xstrndup(p, (size_t)(q - p));
        ps->p = q;
        return v;
      }
  }
  perr(ps, "unexpected character");
  return NULL;
}

jval *json_parse(const char *text, char *err, size_t errlen) {
  parser ps = {text, text, err, errlen, 0};
  err[0] = 0;
  jval *v = pvalue(&ps);
  if (!v) return NULL;
  ws(&ps);
  if (*ps.p) { perr(&ps, "trailing characters after the document"); return NULL; }
  return v;
}

jval *json_parse_file(const char *path, char *err, size_t errlen) {
  char *text = read_file(path, NULL);
  if (!text) { snprintf(err, errlen, "%s: %s", path, strerror(errno)); return NULL; }
  char e[200];
  jval *v = json_parse(text, e, sizeof e);
  if (!v) snprintf(err, errlen, "%s: %s", path, e);
  return v;
}

jval *jget(const jval *obj, const char *key) {
  if (!obj || obj->t != J_OBJ) return NULL;
  for (jval *m = obj->child; m; m = m->next)
    if (!strcmp(m->key, key)) return m;
  return NULL;
}

jval *jpath(const jval *obj, const char *dotted) {
  char part[64];
  const jval *v = obj;
  while (v && *dotted) {
    const char *dot = strchr(dotted, '.');
    size_t n = dot ? (size_t)(dot - dotted) : strlen(dotted);
    if (n >= sizeof part) return NULL;
    memcpy(part, dotted, n);
    part[n] = 0;
    v = jget(v, part);
    dotted += n + (dot != NULL);
  }
  return (jval *)v;
}

const char *jstr(const jval *v, const char *def) { return v && v->t == J_STR ? v->str : def; }

long long jint(const jval *v, long long def) {
  if (!v || v->t != J_NUM) return def;
  return strtoll(v->str, NULL, 10);
}

unsigned long long juint(const jval *v, unsigned long long def) {
  if (!v || v->t != J_NUM || v->str[0] == '-') return def;
  return strtoull(v->str, NULL, 10);
}

int jbool(const jval *v, int def) {
  if (!v) return def;
  if (v->t == J_TRUE) return 1;
  if (v->t == J_FALSE) return 0;
  return def;
}

int jlen(const jval *v) {
  int n = 0;
  JFOR(it, v) n++;
  return n;
}

size_t json_escape(char *buf, size_t len, size_t cap, const char *s, size_t n) {
  static const char hexd[] = "0123456789abcdef";
  for (size_t i = 0; i < n && len + 7 < cap; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c == '"' || c == '\\') { buf[len++] = '\\'; buf[len++] = (char)c; }
    else if (c == '\n') { buf[len++] = '\\'; buf[len++] = 'n'; }
    else if (c == '\r') { buf[len++] = '\\'; buf[len++] = 'r'; }
    else if (c == '\t') { buf[len++] = '\\'; buf[len++] = 't'; }
    else if (c < 0x20) {
      memcpy(buf + len, "\\u00", 4);
      buf[len + 4] = hexd[c >> 4];
      buf[len + 5] = hexd[c & 15];
      len += 6;
    } else buf[len++] = (char)c;
  }
  buf[len] = 0;
  return len;
}

void json_write_str(FILE *f, const char *s) {
  char buf[256];
  size_t n = strlen(s);
  fputc('"', f);
  while (n) {
    size_t chunk = n > 32 ? 32 : n;
    json_escape(buf, 0, sizeof buf, s, chunk);
    fputs(buf, f);
    s += chunk, n -= chunk;
  }
  fputc('"', f);
}

void json_write(FILE *f, const jval *v) {
  switch (v->t) {
    case J_NULL: fputs("null", f); break;
    case J_TRUE: fputs("true", f); break;
    case J_FALSE: fputs("false", f); break;
    case J_NUM: fputs(v->str, f); break;
    case J_STR: json_write_str(f, v->str); break;
    case J_ARR:
    case J_OBJ:
      fputc(v->t == J_ARR ? '[' : '{', f);
      for (jval *c = v->child; c; c = c->next) {
        if (c != v->child) fputc(',', f);
        if (v->t == J_OBJ) { json_write_str(f, c->key); fputc(':', f); }
        json_write(f, c);
      }
      fputc(v->t == J_ARR ? ']' : '}', f);
      break;
  }
}
