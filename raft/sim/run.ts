/**
 * Runs the simulator over many seeds from the command line:
 *   npx tsx raft/sim/run.ts --seeds 100000 [--from 1] [--steps 2000]
 *   npx tsx raft/sim/run.ts --seed 1234 --trace     (replay one seed, printing every event)
 */
import { runSeed } from './simulation.js';

const args = process.argv.slice(2);
const arg = (name: string): string | undefined => {
  const i = args.indexOf(`--${name}`);
  return i < 0 ? undefined : args[i + 1];
};
const steps = Number(arg('steps') ?? 2000);
const one = arg('seed');
const trace = args.includes('--trace') ? (l: string) => console.log(l) : undefined;
const from = one !== undefined ? Number(one) : Number(arg('from') ?? 1);
const count = one !== undefined ? 1 : Number(arg('seeds') ?? 1000);
const t0 = performance.now();
let failed = 0;
for (let s = from; s < from + count; s++) {
  try {
    const st = runSeed({ seed: s, chaosSteps: steps, trace });
    if (one !== undefined) console.log(JSON.stringify(st));
  } catch (e) {
    failed++;
    console.error(e instanceof Error ? e.message : e);
  }
  if ((s - from + 1) % 500 === 0) console.log(`${s - from + 1} seeds, ${failed} failed, ${((performance.now() - t0) / 1000).toFixed(1)}s`);
}
console.log(`done: ${count} seeds from ${from}, ${failed} failed, ${((performance.now() - t0) / 1000).toFixed(1)}s`);
process.exitCode = failed > 0 ? 1 : 0;
