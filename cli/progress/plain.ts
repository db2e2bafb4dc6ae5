/**
 * `--progress plain` (and any output that is not a terminal): one line per event, the way
 * docker compose prints them: ` Container p-web-1  Started`. `--progress json` prints each
 * event as a JSON object; `quiet` prints nothing.
 */
import type { Writable } from 'node:stream';

import type { ProgressEvent, Reporter } from '../../lib/progress.js';

export function plainReporter(out: Writable): Reporter {
  return {
    emit(e) {
      if (e.parentId !== undefined && e.state === 'working' && e.current !== undefined) return; // layer byte counts are TTY-only
      const text = e.text === undefined || e.text === '' ? '' : ` ${e.text}`;
      out.write(` ${e.id}  ${e.status}${text}\n`);
    },
    close: async () => {},
  };
}

export function jsonReporter(out: Writable): Reporter {
  return {
    emit(e: ProgressEvent) {
      out.write(`${JSON.stringify(e)}\n`);
    },
    close: async () => {},
  };
}

export function quietReporter(): Reporter {
  return { emit() {}, close: async () => {} };
}
