/* A small JSON reader (whole document into a tree) and the writer helpers the runtime needs.
 * No libraries: config.json must be read without starting anything heavier than this binary. */
#ifndef TSC_JSON_H
#define TSC_JSON_H
#include <stddef.h>
#include <stdio.h>

typedef enum { J_NULL, J_FALSE, J_TRUE, J_NUM, J_STR, J_ARR, J_OBJ } jtype;

typedef struct jval {
  jtype t;
  char *key;          /* name when this value is an object member */
  char *str;          /* decoded string (J_STR), or the number's text (J_NUM) */
  struct jval *child; /* first element or member (J_ARR, J_OBJ) */
  struct jval *next;  /* next sibling */
} jval;

/* Parses text (NUL-terminated). On error returns NULL and writes "line L col C: what" to err. */
jval *json_parse(const char *text, char *err, size_t errlen);
/* Parses a file; errors name the file. */
jval *json_parse_file(const char *path, char *err, size_t errlen);

jval *jget(const jval *obj, const char *key);         /* member or NULL */
jval *jpath(const jval *obj, const char *dotted);     /* "linux.resources.memory" */
const char *jstr(const jval *v, const char *def);     /* string value or def */
long long jint(const jval *v, long long def);         /* integer value or def */
unsigned long long juint(const jval *v, unsigned long long def);
int jbool(const jval *v, int def);
int jlen(const jval *v);                              /* elements of array/object */
#define JFOR(it, arr) for (jval *it = (arr) && ((arr)->t == J_ARR || (arr)->t == J_OBJ) ? (arr)->child : NULL; it; it = it->next)

/* Writes s as a JSON string (with quotes). */
void json_write_str(FILE *f, const char *s);
/* Appends s escaped (no quotes) to buf; returns new length, never past cap-1. */
size_t json_escape(char *buf, size_t len, size_t cap, const char *s, size_t n);
/* Re-serializes a value compactly (used to copy annotations into state). */
void json_write(FILE *f, const jval *v);
#endif
