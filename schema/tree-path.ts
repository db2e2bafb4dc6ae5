/**
 * Key paths into a compose tree, written as users read them: `services.web.ports[1]`.
 * Keys are printed as they are (as compose-go does); only sequence indexes get brackets.
 */

/** One step down: a mapping key or a sequence index. */
export function next(parent: string, key: string | number): string {
  if (typeof key === 'number') return `${parent}[${key}]`;
  return parent === '' ? key : `${parent}.${key}`;
}

/** The steps of a path: `services.web.ports[1]` → ['services', 'web', 'ports', 1]. */
export function steps(path: string): Array<string | number> {
  const out: Array<string | number> = [];
  const re = /([^.[\]]+)|\[(\d+)\]/g;
  for (let m = re.exec(path); m !== null; m = re.exec(path)) {
    if (m[2] !== undefined) out.push(Number(m[2]));
    else if (m[1] !== undefined) out.push(m[1]);
  }
  return out;
}

/** The path one step up, or '' at the top. */
export function parent(path: string): string {
  const s = steps(path);
  s.pop();
  return s.reduce<string>((acc, k) => next(acc, k), '');
}

/** The last step of a path (a key or an index), or '' for the top. */
export function last(path: string): string | number {
  const s = steps(path);
  return s.length === 0 ? '' : (s[s.length - 1] as string | number);
}

/**
 * Whether `path` matches `pattern`, where `*` in the pattern stands for any one key and
 * `[]` for any index: `services.*.ports[]` matches `services.web.ports[0]`.
 */
export function matches(path: string, pattern: string): boolean {
  const a = steps(path);
  const b = patternSteps(pattern);
  if (a.length !== b.length) return false;
  return b.every((p, i) => {
    const s = a[i];
    if (p === '*') return typeof s === 'string';
    if (p === '[]') return typeof s === 'number';
    return p === s;
  });
}

function patternSteps(pattern: string): string[] {
  const out: string[] = [];
  const re = /([^.[\]]+)|(\[\])/g;
  for (let m = re.exec(pattern); m !== null; m = re.exec(pattern)) out.push(m[2] ?? (m[1] as string));
  return out;
}
