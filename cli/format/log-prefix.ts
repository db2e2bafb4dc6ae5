/**
 * The `name  | ` prefixes of multiplexed logs, as docker compose prints them: names padded to
 * the longest, a colour per container from compose's rainbow, none under --no-color/NO_COLOR.
 */

const RAINBOW = ['36', '33', '32', '35', '34', '96', '93', '92', '95', '94'];

export interface PrefixOptions {
  color: boolean;
  /** `--no-log-prefix`. */
  prefix: boolean;
  /** `-t`: the line's timestamp after the prefix. */
  timestamps: boolean;
}

export function createPrefixer(names: readonly string[], opts: PrefixOptions): (name: string, line: string, time?: string) => string {
  const width = Math.max(0, ...names.map((n) => n.length));
  const colors = new Map<string, string>();
  let next = 0;
  return (name, line, time) => {
    const ts = opts.timestamps && time !== undefined ? `${time} ` : '';
    if (!opts.prefix) return `${ts}${line}`;
    const head = `${name.padEnd(width)}  | `;
    if (!opts.color) return `${head}${ts}${line}`;
    let c = colors.get(name);
    if (c === undefined) {
      c = RAINBOW[next++ % RAINBOW.length] ?? '36';
      colors.set(name, c);
    }
    return `\x1b[${c}m${head}\x1b[0m${ts}${line}`;
  };
}

/** Colour is on for a terminal unless NO_COLOR is set (to anything) or --no-color is given. */
export function useColor(stream: { isTTY?: boolean }, noColorFlag: boolean, env: NodeJS.ProcessEnv = process.env): boolean {
  return stream.isTTY === true && !noColorFlag && env['NO_COLOR'] === undefined;
}
