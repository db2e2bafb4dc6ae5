/** Text renderings of messages, entries and Readies for the interaction tests' golden output. */
import type { Ready } from '../core/raft-core.js';
import { type Entry, type Message, decodeConfChange } from '../core/types.js';

const dec = new TextDecoder();

export function describeEntry(e: Entry): string {
  if (e.type === 'confChange') {
    const cc = decodeConfChange(e.data);
    const changes = cc.changes.map((c) => `${c.type === 'addNode' ? 'v' : c.type === 'addLearner' ? 'l' : 'r'}${c.nodeId}`).join(' ');
    return `${e.term}/${e.index} EntryConfChange ${cc.transition}${changes === '' ? '' : ' ' + changes}`;
  }
  return `${e.term}/${e.index} EntryNormal ${JSON.stringify(dec.decode(e.data))}`;
}

export function describeMessage(m: Message): string {
  let s = `${m.from}->${m.to} ${m.type} Term:${m.term} Log:${m.logTerm}/${m.index}`;
  if (m.reject) s += ` Rejected (Hint: ${m.rejectHint})`;
  if (m.commit !== 0) s += ` Commit:${m.commit}`;
  if (m.entries.length > 0) s += ` Entries:[${m.entries.map(describeEntry).join(', ')}]`;
  if (m.snapshot !== undefined) s += ` Snapshot: Index:${m.snapshot.metadata.index} Term:${m.snapshot.metadata.term} Voters:[${m.snapshot.metadata.confState.voters.join(' ')}]`;
  if (m.context !== undefined && m.context.length > 0) s += ` Context:${JSON.stringify(dec.decode(m.context))}`;
  return s;
}

export function describeReady(rd: Ready): string[] {
  const out: string[] = [`Ready MustSync=${rd.mustSync}:`];
  if (rd.softState !== undefined) out.push(`Lead:${rd.softState.lead} State:${rd.softState.state}`);
  if (rd.hardState !== undefined) out.push(`HardState Term:${rd.hardState.term} Vote:${rd.hardState.vote} Commit:${rd.hardState.commit}`);
  if (rd.entries.length > 0) out.push('Entries:', ...rd.entries.map((e) => `${describeEntry(e)}`));
  if (rd.snapshot !== undefined) out.push(`Snapshot Index:${rd.snapshot.metadata.index} Term:${rd.snapshot.metadata.term}`);
  if (rd.committedEntries.length > 0) out.push('CommittedEntries:', ...rd.committedEntries.map(describeEntry));
  if (rd.messages.length > 0) out.push('Messages:', ...rd.messages.map(describeMessage));
  if (rd.readStates.length > 0) out.push(...rd.readStates.map((r) => `ReadState Index:${r.index} Ctx:${JSON.stringify(dec.decode(r.requestCtx))}`));
  return out;
}
