/* The `@links` built-in of tsc-spawn (links.c): network link ops without starting programs. */
#ifndef TSC_SPAWN_LINKS_H
#define TSC_SPAWN_LINKS_H
#include <stddef.h>

/* In the long-lived parent, once: load libnftables if it is there (children inherit it). */
void links_preload(void);

/* In a request's forked child: run the ops of `text`; returns the exit status. */
int links_run(const char *text, size_t len);

#endif
