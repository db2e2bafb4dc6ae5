/** Picks the reporter for `--progress` and the terminal, as docker compose does. */
import type { ProgressEvent, ProgressMode, Reporter } from '../../lib/progress.js';
import { jsonReporter, plainReporter, quietReporter } from './plain.js';

/**
 * The ink view, loaded only when a terminal asks for it: ink and its dependencies take about
 * 0.3 s to load, which no command with plain output should pay. Events that arrive while it
 * loads are kept and replayed.
 */
function lazyTtyReporter(out: NodeJS.WriteStream): Reporter {
  const pending: ProgressEvent[] = [];
  let real: Reporter | undefined;
  const loading = import('./tty-view.js').then((m) => {
    real = m.ttyReporter(out);
    for (const e of pending.splice(0)) real.emit(e);
    return real;
  });
  return {
    emit(e) {
      if (real === undefined) pending.push(e);
      else real.emit(e);
    },
    async close() {
      await (await loading).close();
    },
  };
}

export function createReporter(mode: ProgressMode | undefined, out: NodeJS.WriteStream = process.stderr): Reporter {
  const m = mode ?? 'auto';
  if (m === 'quiet') return quietReporter();
  if (m === 'json') return jsonReporter(out);
  if (m === 'plain' || (m === 'auto' && out.isTTY !== true)) return plainReporter(out);
  return lazyTtyReporter(out);
}
