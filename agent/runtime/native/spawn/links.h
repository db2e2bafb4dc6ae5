/* The `@links` built-in of tsc-spawn (links.c): network link ops without starting programs. */
#ifndef TSC_SPAWN_LINKS_H
#define TSC_SPAWN_LINKS_H
#include <stddef.h>

/* In the long-lived parent, once: load libnftables if it is there (children inherit it). */
void links_preload(void);

/* In a request's forked child: run the ops of `text`; returns the exit status. */
int links_run(const char *text, size_t len);

/*
 * In the long-lived parent: `@nft [-j]`, the host's nft commands (`cmds`, LEN bytes) through a
 * libnftables context kept open (JSON output with `json`). 0 or 1 as `nft` exits, with its
 * output and errors (valid until the next call); -1 when libnftables cannot be loaded.
 */
int links_nft_local(const char *cmds, size_t len, int json, const char **out, const char **err);

#endif
