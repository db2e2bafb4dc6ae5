/**
 * Drives RaftCores from text scripts in etcd's datadriven format (testdata/*.txt):
 *
 *   campaign 1          <- command and arguments
 *   ----
 *   ...output...        <- what the command printed
 *
 * Unlike testing/network.ts nothing happens implicitly: messages wait in per-node inboxes until
 * `deliver-msgs` or `stabilize`, and Readies are handled only by `process-ready` or `stabilize`,
 * so a script shows every step. One handler file per command under interaction/.
 */
import type { RaftCore } from '../core/raft-core.js';
import type { Message } from '../core/types.js';
import type { TestNode } from './network.js';
import { addNodes } from './interaction/add-nodes.js';
import { campaign } from './interaction/campaign.js';
import { deliverMsgs } from './interaction/deliver-msgs.js';
import { processReady } from './interaction/process-ready.js';
import { propose, proposeConfChange } from './interaction/propose.js';
import { raftLog } from './interaction/raft-log.js';
import { stabilize } from './interaction/stabilize.js';
import { status } from './interaction/status.js';
import { tickElection, tickHeartbeat } from './interaction/tick.js';
import { transferLeadership } from './interaction/transfer-leadership.js';

export interface Command {
  name: string;
  /** Positional arguments and key=value pairs, as written. */
  args: string[];
  line: number;
}

export class InteractionEnv {
  readonly nodes = new Map<number, TestNode>();
  /** Messages sent to each node and not yet delivered. */
  readonly inbox = new Map<number, Message[]>();
  out: string[] = [];

  print(line: string): void {
    this.out.push(line);
  }

  node(id: number): TestNode {
    const n = this.nodes.get(id);
    if (n === undefined) throw new Error(`no node ${id}`);
    return n;
  }

  core(id: number): RaftCore {
    return this.node(id).core;
  }

  ids(): number[] {
    return [...this.nodes.keys()].sort((a, b) => a - b);
  }

  /** Runs one command and returns what it printed. */
  handle(cmd: Command): string {
    this.out = [];
    const h = handlers[cmd.name];
    if (h === undefined) throw new Error(`line ${cmd.line}: unknown command ${cmd.name}`);
    try {
      h(this, cmd);
    } catch (e) {
      this.print(`error: ${e instanceof Error ? e.message : String(e)}`);
    }
    return this.out.join('\n');
  }
}

export type Handler = (env: InteractionEnv, cmd: Command) => void;

const handlers: Record<string, Handler> = {
  'add-nodes': addNodes,
  campaign,
  'deliver-msgs': deliverMsgs,
  'process-ready': processReady,
  propose,
  'propose-conf-change': proposeConfChange,
  'raft-log': raftLog,
  stabilize,
  status,
  'tick-election': tickElection,
  'tick-heartbeat': tickHeartbeat,
  'transfer-leadership': transferLeadership,
};

/** Reads `key=value` from a command's arguments. */
export function arg(cmd: Command, key: string): string | undefined {
  const a = cmd.args.find((x) => x.startsWith(`${key}=`));
  return a?.slice(key.length + 1);
}

/** The node ids a command names: positional numbers. */
export function idArgs(cmd: Command): number[] {
  return cmd.args.filter((a) => /^\d+$/.test(a)).map(Number);
}

export interface Block {
  cmd: Command;
  expected: string;
  /** `#` lines written above the command, kept on rewrite. */
  comment: string[];
}

/** Parses a datadriven file: command line, `----`, output, blank line. */
export function parseScript(text: string): Block[] {
  const lines = text.split('\n');
  const blocks: Block[] = [];
  let i = 0;
  let comment: string[] = [];
  while (i < lines.length) {
    const line = (lines[i] as string).trim();
    if (line.startsWith('#')) comment.push(line);
    if (line === '' || line.startsWith('#')) {
      i++;
      continue;
    }
    const [name, ...args] = line.split(/\s+/);
    const cmd: Command = { name: name as string, args, line: i + 1 };
    i++;
    if (lines[i] !== '----') throw new Error(`line ${i + 1}: expected ---- after ${line}`);
    i++;
    const out: string[] = [];
    while (i < lines.length && lines[i] !== '') out.push(lines[i++] as string);
    blocks.push({ cmd, expected: out.join('\n'), comment });
    comment = [];
  }
  return blocks;
}

export function formatScript(blocks: { cmd: Command; output: string; comment: string[] }[]): string {
  return (
    blocks
      .map((b) =>
        [...b.comment, [b.cmd.name, ...b.cmd.args].join(' '), '----', ...(b.output === '' ? ['ok'] : [b.output])].join('\n'),
      )
      .join('\n\n') + '\n'
  );
}
