/**
 * The TTY view (ink): a heading and one line per resource with a spinner while it works,
 * ✔ when done, ✘ on error, its status and its time, as docker compose draws it.
 */
import { Box, Text, render } from 'ink';
import { useEffect, useState } from 'react';
import type { Writable } from 'node:stream';

import type { ProgressEvent, Reporter } from '../../lib/progress.js';
import { applyEvent, elapsed, emptyModel, formatBytes, heading, type Line, type ViewModel } from './tty-model.js';

const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

function mark(line: Line, frame: number): { sym: string; color: string } {
  switch (line.state) {
    case 'done':
      return { sym: '✔', color: 'green' };
    case 'error':
      return { sym: '✘', color: 'red' };
    case 'warning':
      return { sym: '!', color: 'yellow' };
    default:
      return { sym: SPINNER[frame % SPINNER.length] ?? '-', color: 'blue' };
  }
}

function Row({ line, now, frame, width, indent }: { line: Line; now: number; frame: number; width: number; indent: number }) {
  const m = mark(line, frame);
  const bytes = line.total !== undefined && line.current !== undefined ? ` ${formatBytes(line.current)}/${formatBytes(line.total)}` : '';
  return (
    <Box>
      <Text>{' '.repeat(indent + 1)}</Text>
      <Text color={m.color}>{m.sym}</Text>
      <Text> {line.id.padEnd(width)} </Text>
      <Text color={line.state === 'error' ? 'red' : undefined}>
        {line.status}
        {line.text === '' ? '' : ` ${line.text}`}
        {bytes}
      </Text>
      <Text color="gray"> {elapsed(line, now)}</Text>
    </Box>
  );
}

function View({ subscribe }: { subscribe: (fn: (m: ViewModel) => void) => void }) {
  const [model, setModel] = useState<ViewModel>(emptyModel());
  const [frame, setFrame] = useState(0);
  useEffect(() => {
    subscribe(setModel);
    const t = setInterval(() => setFrame((f) => f + 1), 100);
    return () => clearInterval(t);
  }, [subscribe]);
  const now = Date.now();
  const width = Math.max(0, ...model.order.map((id) => id.length));
  return (
    <Box flexDirection="column">
      <Text color="blue">{heading(model)}</Text>
      {model.order.map((id) => {
        const line = model.lines.get(id);
        if (line === undefined) return null;
        return (
          <Box key={id} flexDirection="column">
            <Row line={line} now={now} frame={frame} width={width} indent={0} />
            {line.state === 'working'
              ? line.children.map((c) => {
                  const child = model.lines.get(c);
                  return child === undefined ? null : <Row key={c} line={child} now={now} frame={frame} width={width - 3} indent={3} />;
                })
              : null}
          </Box>
        );
      })}
    </Box>
  );
}

export function ttyReporter(out: Writable & { columns?: number }): Reporter {
  let model = emptyModel();
  let push: ((m: ViewModel) => void) | undefined;
  // The view subscribes in an effect, after its first render: a command that ends before that
  // (a fully cached build) must wait for it, or its last frame would show nothing.
  let subscribed: () => void = () => undefined;
  const ready = new Promise<void>((r) => (subscribed = r));
  const subscribe = (fn: (m: ViewModel) => void) => {
    push = fn;
    fn(model);
    subscribed();
  };
  const app = render(<View subscribe={subscribe} />, { stdout: out as NodeJS.WriteStream, patchConsole: false, exitOnCtrlC: false });
  return {
    emit(e: ProgressEvent) {
      model = applyEvent(model, e, Date.now());
      push?.(model);
    },
    async close() {
      // bounded, and the timer never keeps the process alive once the view is there
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([ready, new Promise((r) => (timer = setTimeout(r, 1000)))]);
      clearTimeout(timer);
      push?.(model);
      await new Promise((r) => setTimeout(r, 20));
      app.unmount();
      await app.waitUntilExit();
    },
  };
}
