/**
 * The V8 flags a short-lived command runs under (cli/main.ts sets them once its command's
 * modules have loaded; see cli/program.ts shortLived). Anything that writes a V8 code cache for
 * those commands (schema/precompile-schema.ts) writes it under the same flags: V8 refuses a
 * cache made under other flags, and then compiles everything again.
 */
import { setFlagsFromString } from 'node:v8';

export const SHORT_LIVED_V8_FLAGS = '--no-opt';

/** Turn V8's optimizing compiler off for the rest of this process. */
export function enterShortLivedMode(): void {
  setFlagsFromString(SHORT_LIVED_V8_FLAGS);
}
