/**
 * The state behind the TTY view: one line per resource, in the order they first appeared,
 * each with its latest status and how long it has taken. Pure, so the view stays a function
 * of it and tests need no terminal.
 */
import type { ProgressEvent, ProgressState } from '../../lib/progress.js';

export interface Line {
  id: string;
  status: string;
  state: ProgressState;
  text: string;
  startedAt: number;
  endedAt?: number;
  current?: number;
  total?: number;
  children: string[];
  parentId?: string;
}

export interface ViewModel {
  order: string[];
  lines: Map<string, Line>;
}

export function emptyModel(): ViewModel {
  return { order: [], lines: new Map() };
}

export function applyEvent(model: ViewModel, e: ProgressEvent, now: number): ViewModel {
  const lines = new Map(model.lines);
  const order = [...model.order];
  const prev = lines.get(e.id);
  const line: Line = {
    id: e.id,
    status: e.status,
    state: e.state,
    text: e.text ?? '',
    startedAt: prev?.startedAt ?? now,
    children: prev?.children ?? [],
    ...(e.state === 'working' ? {} : { endedAt: now }),
    ...(e.current === undefined ? {} : { current: e.current }),
    ...(e.total === undefined ? {} : { total: e.total }),
    ...(e.parentId === undefined ? {} : { parentId: e.parentId }),
  };
  lines.set(e.id, line);
  if (prev === undefined) {
    if (e.parentId !== undefined) {
      const parent = lines.get(e.parentId);
      if (parent !== undefined) lines.set(e.parentId, { ...parent, children: [...parent.children, e.id] });
    } else {
      order.push(e.id);
    }
  }
  return { order, lines };
}

/** `[+] Running 2/3` as docker compose heads its view. */
export function heading(model: ViewModel): string {
  const top = model.order.map((id) => model.lines.get(id)).filter((l): l is Line => l !== undefined);
  const done = top.filter((l) => l.state !== 'working').length;
  return `[+] Running ${done}/${top.length}`;
}

export function elapsed(line: Line, now: number): string {
  return `${(((line.endedAt ?? now) - line.startedAt) / 1000).toFixed(1)}s`;
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n}B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)}kB`;
  if (n < 1024 * 1024 * 1024) return `${(n / 1024 / 1024).toFixed(1)}MB`;
  return `${(n / 1024 / 1024 / 1024).toFixed(2)}GB`;
}
