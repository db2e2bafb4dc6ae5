/**
 * Pull benchmark: a ~100 MiB multi-layer image (incompressible payload) from Debian's
 * docker-registry on 127.0.0.1, ours (`pullImage`: download + verify into the store) against
 * `skopeo copy docker://... oci:...` (download + verify into an OCI layout), alternating runs
 * in the same process run, printing both medians and the ratio. Our pull with layer
 * extraction is printed too, for information (skopeo does not extract).
 *
 *   npx tsx bench/pull/pull-bench.ts [--mib 100] [--runs 3]
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { openImageStore } from '../../agent/images/image-store.js';
import { pullImage } from '../../agent/images/pull.js';
import { skopeoPush, startRegistry } from '../../test/support/registry-harness.js';
import { buildOciImage } from '../../fixtures/oci-image.js';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? fallback : Number(process.argv[i + 1]);
}

function run(cmd: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { maxBuffer: 1 << 24 }, (err, _o, stderr) => (err === null ? resolve() : reject(new Error(`${cmd}: ${stderr}`))));
  });
}

async function timed(fn: () => Promise<void>): Promise<number> {
  const t = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t) / 1e6;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

async function main(): Promise<void> {
  const mib = arg('mib', 100);
  const runs = arg('runs', 3);
  const work = await mkdtemp(join(tmpdir(), 'tsc-bench-pull-'));
  const registry = await startRegistry();
  try {
    const built = await buildOciImage(join(work, 'layout'), { tag: 'bench', payloadMiB: mib, payloadLayers: 4 });
    const total = built.layers.reduce((n, l) => n + l.size, 0);
    await skopeoPush(built.dir, 'bench', `${registry.host}/bench:1`);
    const ref = `${registry.host}/bench:1`;
    console.log(`image: ${built.layers.length} layers, ${(total / 2 ** 20).toFixed(1)} MiB compressed, registry ${registry.host}`);

    const ours: number[] = [];
    const skopeo: number[] = [];
    const oursUnpack: number[] = [];
    for (let i = 0; i < runs; i++) {
      const storeDir = join(work, `store-${i}`);
      const store = await openImageStore(storeDir);
      ours.push(await timed(async () => void (await pullImage(store, ref, { authFile: '/nonexistent' }))));
      await rm(storeDir, { recursive: true, force: true });

      const ociDir = join(work, `skopeo-${i}`);
      skopeo.push(await timed(() => run('skopeo', ['copy', '--quiet', '--src-tls-verify=false', `docker://${ref}`, `oci:${ociDir}:bench`])));
      await rm(ociDir, { recursive: true, force: true });

      const store2Dir = join(work, `store-unpack-${i}`);
      const store2 = await openImageStore(store2Dir);
      oursUnpack.push(await timed(async () => void (await pullImage(store2, ref, { authFile: '/nonexistent', unpack: true }))));
      await rm(store2Dir, { recursive: true, force: true });
    }
    const o = median(ours);
    const s = median(skopeo);
    const mibps = (ms: number): string => ((total / 2 ** 20) / (ms / 1000)).toFixed(0);
    console.log(`runs: ${runs} (median)`);
    console.log(`tsc-compose pull      : ${o.toFixed(0)} ms  (${mibps(o)} MiB/s)   runs ${ours.map((x) => x.toFixed(0)).join(', ')}`);
    console.log(`skopeo copy           : ${s.toFixed(0)} ms  (${mibps(s)} MiB/s)   runs ${skopeo.map((x) => x.toFixed(0)).join(', ')}`);
    console.log(`ratio skopeo / ours   : ${(s / o).toFixed(2)}x  (> 1: we are faster)`);
    console.log(`tsc-compose pull+unpack: ${median(oursUnpack).toFixed(0)} ms (information: skopeo does not extract)`);
  } finally {
    await registry.stop();
    await rm(work, { recursive: true, force: true });
  }
}

await main();
