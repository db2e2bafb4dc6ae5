/** Picks the reporter for `--progress` and the terminal, as docker compose does. */
import type { ProgressMode, Reporter } from '../../lib/progress.js';
import { jsonReporter, plainReporter, quietReporter } from './plain.js';
import { ttyReporter } from './tty-view.js';

export function createReporter(mode: ProgressMode | undefined, out: NodeJS.WriteStream = process.stderr): Reporter {
  const m = mode ?? 'auto';
  if (m === 'quiet') return quietReporter();
  if (m === 'json') return jsonReporter(out);
  if (m === 'plain' || (m === 'auto' && out.isTTY !== true)) return plainReporter(out);
  return ttyReporter(out);
}
