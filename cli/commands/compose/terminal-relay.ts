/**
 * The user's terminal joined to a container's (`run` and `attach` of a container with a tty),
 * as the docker CLI joins them: our terminal goes raw so that every key, Ctrl-C included,
 * reaches the container's terminal as typed; its size follows our window (SIGWINCH); the
 * detach keys let go without stopping the container; signals sent to the CLI itself are passed
 * to the container (sig-proxy). Our terminal's mode is restored however the relay ends.
 */
import { spawnSync } from 'node:child_process';

import type { ExecSession } from '../../../agent/api/types.js';
import { detachScanner } from './detach-keys.js';

export interface TerminalIn extends NodeJS.ReadableStream {
  isTTY?: boolean;
  setRawMode?(raw: boolean): unknown;
}

export interface TerminalOut extends NodeJS.WritableStream {
  isTTY?: boolean;
  rows?: number;
  columns?: number;
}

/** Where the CLI's own signals come from (the process; a stand-in in unit tests). */
export interface SignalSource {
  on(signal: NodeJS.Signals, f: () => void): unknown;
  off(signal: NodeJS.Signals, f: () => void): unknown;
  once(event: 'exit', f: () => void): unknown;
  off(event: 'exit', f: () => void): unknown;
}

export interface RelayOptions {
  stdin: TerminalIn;
  stdout: TerminalOut;
  /** Our keys go to the container (false: output only, `--no-stdin` or stdin not open). */
  input: boolean;
  /** `parseDetachKeys(...)`; empty: no detaching. */
  detachKeys: Buffer;
  /** A signal the CLI received while attached, for the container; absent: signals act on the CLI as usual. */
  forwardSignal?(signal: NodeJS.Signals): void;
  signals?: SignalSource;
  /**
   * Turn off output processing on our terminal once it is raw (default: `stty -opost`). Node's
   * raw mode keeps ONLCR, which would turn a full-screen program's bare "\n" into "\r\n";
   * docker's raw mode is cfmakeraw's. Leaving raw mode restores it with the rest.
   */
  rawOutput?: () => void;
}

function sttyNoOpost(): void {
  spawnSync('stty', ['-opost'], { stdio: ['inherit', 'ignore', 'ignore'] });
}

export type RelayResult = { exitCode: number } | { detached: true };

const PROXIED: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT'];

/** Our terminal's size, when stdout is one. */
export function terminalSize(out: TerminalOut): { rows: number; cols: number } | undefined {
  return out.isTTY === true && out.rows !== undefined && out.columns !== undefined && out.rows > 0 && out.columns > 0 ? { rows: out.rows, cols: out.columns } : undefined;
}

export async function relayTerminal(session: ExecSession, o: RelayOptions): Promise<RelayResult> {
  const signals: SignalSource = o.signals ?? process;
  const raw = o.input && o.stdin.isTTY === true && typeof o.stdin.setRawMode === 'function';
  let restored = !raw;
  const restore = (): void => {
    if (restored) return;
    restored = true;
    o.stdin.setRawMode?.(false);
  };
  const onResize = (): void => {
    const size = terminalSize(o.stdout);
    if (size !== undefined) session.resize?.(size.rows, size.cols);
  };
  const forward = o.forwardSignal;
  const proxies = forward === undefined ? [] : PROXIED.map((sig) => [sig, () => forward(sig)] as const);
  let detach!: () => void;
  const detached = new Promise<RelayResult>((resolve) => (detach = () => resolve({ detached: true })));
  const scan = detachScanner(o.detachKeys);
  const onData = (chunk: Buffer | string): void => {
    const r = scan(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
    if (r.forward.length > 0) session.stdin.write(r.forward);
    if (r.detached) detach();
  };
  const onEnd = (): void => {
    session.stdin.end();
  };
  session.stdin.on('error', () => undefined);
  session.stdout.pipe(o.stdout, { end: false });
  session.stderr.pipe(o.stdout, { end: false });
  try {
    signals.once('exit', restore);
    if (raw) {
      o.stdin.setRawMode?.(true);
      (o.rawOutput ?? sttyNoOpost)();
    }
    for (const [sig, f] of proxies) signals.on(sig, f);
    (o.stdout as NodeJS.EventEmitter).on('resize', onResize);
    onResize(); // the window may have changed since the container was made
    if (o.input) {
      o.stdin.on('data', onData);
      o.stdin.once('end', onEnd);
      o.stdin.resume();
    }
    const exited = session.exit.then(async (exitCode): Promise<RelayResult> => {
      // the last output is delivered before the exit: let it all reach our terminal
      if (!session.stdout.readableEnded) await new Promise((r) => session.stdout.once('end', r));
      return { exitCode };
    });
    exited.catch(() => undefined); // after a detach, the exit never comes
    const result = await Promise.race([exited, detached]);
    if ('detached' in result) session.close?.();
    return result;
  } finally {
    (o.stdout as NodeJS.EventEmitter).off('resize', onResize);
    for (const [sig, f] of proxies) signals.off(sig, f);
    if (o.input) {
      o.stdin.off('data', onData);
      o.stdin.off('end', onEnd);
      o.stdin.pause();
    }
    session.stdout.unpipe(o.stdout);
    session.stderr.unpipe(o.stdout);
    restore();
    signals.off('exit', restore);
  }
}
