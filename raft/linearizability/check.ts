/**
 * A linearizability checker: Wing and Gong's search with Lowe's memoization, as in Porcupine
 * (Anish Athalye). Given a history of operations, each with the time it was called and the
 * time it returned, decide whether some total order consistent with real time explains every
 * output under a sequential model.
 *
 * The search walks a list of call and return events in time order. At a call it tries to
 * linearize that operation next (the model must accept its output); at a return whose call is
 * not yet linearized it backtracks. A (set of linearized operations, model state) pair already
 * explored is never explored again, which keeps the search practical.
 */

export interface Operation<I, O> {
  clientId: number;
  input: I;
  /** undefined: the outcome is unknown (the client timed out or crashed); any output is accepted. */
  output: O | undefined;
  call: number;
  /** Infinity when the operation never returned. */
  return: number;
}

export interface Model<S, I, O> {
  init(): S;
  /** Applies an operation: whether `output` is possible from `state`, and the next state. */
  step(state: S, input: I, output: O | undefined): { ok: boolean; state: S };
  /** Equal states must have equal keys. */
  key(state: S): string;
  /** Splits a history into independent parts (e.g. by key); each is checked alone. */
  partition?(history: Operation<I, O>[]): Operation<I, O>[][];
  describe?(op: Operation<I, O>): string;
}

export interface CheckResult {
  ok: boolean;
  /** For a failure: the partition that could not be linearized, as descriptions. */
  counterexample?: string[];
}

interface Event {
  op: number;
  isCall: boolean;
  time: number;
  prev: Event | undefined;
  next: Event | undefined;
  match: Event | undefined;
}

function buildList<I, O>(ops: Operation<I, O>[]): Event {
  const events: Event[] = [];
  ops.forEach((o, i) => {
    if (!(o.call <= o.return)) throw new Error(`operation ${i} returns (${o.return}) before it is called (${o.call})`);
    const call: Event = { op: i, isCall: true, time: o.call, prev: undefined, next: undefined, match: undefined };
    const ret: Event = { op: i, isCall: false, time: o.return, prev: undefined, next: undefined, match: undefined };
    call.match = ret;
    events.push(call, ret);
  });
  // At equal times calls come first: touching operations count as concurrent (the lenient choice).
  events.sort((a, b) => a.time - b.time || (a.isCall === b.isCall ? a.op - b.op : a.isCall ? -1 : 1));
  const head: Event = { op: -1, isCall: false, time: -Infinity, prev: undefined, next: undefined, match: undefined };
  let last = head;
  for (const e of events) {
    last.next = e;
    e.prev = last;
    last = e;
  }
  return head;
}

/** Removes a call and its return from the list. */
function lift(e: Event): void {
  (e.prev as Event).next = e.next;
  if (e.next !== undefined) e.next.prev = e.prev;
  const m = e.match as Event;
  (m.prev as Event).next = m.next;
  if (m.next !== undefined) m.next.prev = m.prev;
}

/** Puts them back, in reverse order of removal. */
function unlift(e: Event): void {
  const m = e.match as Event;
  (m.prev as Event).next = m;
  if (m.next !== undefined) m.next.prev = m;
  (e.prev as Event).next = e;
  if (e.next !== undefined) e.next.prev = e;
}

function checkPart<S, I, O>(model: Model<S, I, O>, ops: Operation<I, O>[]): boolean {
  const head = buildList(ops);
  const cache = new Map<string, Set<string>>();
  const stack: { e: Event; state: S }[] = [];
  let state = model.init();
  let linearized = 0n;
  let e = head.next;
  while (head.next !== undefined) {
    if (e === undefined) throw new Error('linearizability: ran off the event list');
    if (e.isCall) {
      const o = ops[e.op] as Operation<I, O>;
      const r = model.step(state, o.input, o.output);
      if (r.ok) {
        const bits = linearized | (1n << BigInt(e.op));
        const k = model.key(r.state);
        const seen = cache.get(bits.toString(36));
        if (seen === undefined || !seen.has(k)) {
          if (seen === undefined) cache.set(bits.toString(36), new Set([k]));
          else seen.add(k);
          stack.push({ e, state });
          state = r.state;
          linearized = bits;
          lift(e);
          e = head.next;
          continue;
        }
      }
      e = e.next;
    } else {
      // A return whose call is not linearized yet: undo the last choice and try the next one.
      const top = stack.pop();
      if (top === undefined) return false;
      state = top.state;
      linearized &= ~(1n << BigInt(top.e.op));
      unlift(top.e);
      e = top.e.next;
    }
  }
  return true;
}

export function checkLinearizable<S, I, O>(model: Model<S, I, O>, history: Operation<I, O>[]): CheckResult {
  const parts = model.partition ? model.partition(history) : [history];
  for (const part of parts) {
    if (!checkPart(model, part)) {
      const describe = model.describe ?? ((o: Operation<I, O>) => JSON.stringify(o));
      return { ok: false, counterexample: [...part].sort((a, b) => a.call - b.call).map(describe) };
    }
  }
  return { ok: true };
}
