/**
 * Test-only: writes a real `docker-credential-NAME` program (a tiny node script) that keeps
 * credentials in a JSON file and logs each call, speaking the helper protocol
 * (`get|store|erase|list`, JSON on stdin/stdout, "credentials not found" on a miss).
 */
import { chmod, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface TestHelper {
  /** The directory to put first on PATH. */
  bin: string;
  /** Environment with that PATH. */
  env: NodeJS.ProcessEnv;
  /** What the helper holds now, by server URL. */
  stored(): Promise<Record<string, { Username: string; Secret: string }>>;
  /** The actions it was asked for, in order (`get https://index.docker.io/v1/`). */
  calls(): Promise<string[]>;
}

const SCRIPT = `#!/usr/bin/env node
const fs = require('node:fs');
const db = process.env.TSC_TEST_HELPER_DB || (__dirname + '/db.json');
const state = fs.existsSync(db) ? JSON.parse(fs.readFileSync(db, 'utf8')) : { creds: {}, calls: [] };
const input = fs.readFileSync(0, 'utf8');
const action = process.argv[2];
const save = () => fs.writeFileSync(db, JSON.stringify(state));
if (action === 'store') {
  const c = JSON.parse(input);
  state.creds[c.ServerURL] = { Username: c.Username, Secret: c.Secret };
  state.calls.push('store ' + c.ServerURL);
  save();
} else if (action === 'get' || action === 'erase') {
  const url = input.trim();
  state.calls.push(action + ' ' + url);
  const c = state.creds[url];
  if (c === undefined) { save(); process.stdout.write('credentials not found in native keychain\\n'); process.exit(1); }
  if (action === 'erase') delete state.creds[url];
  else process.stdout.write(JSON.stringify({ ServerURL: url, Username: c.Username, Secret: c.Secret }));
  save();
} else if (action === 'list') {
  state.calls.push('list');
  save();
  process.stdout.write(JSON.stringify(Object.fromEntries(Object.entries(state.creds).map(([k, v]) => [k, v.Username]))));
} else {
  process.stderr.write('unknown action ' + action + '\\n');
  process.exit(2);
}
`;

export async function writeTestCredentialHelper(dir: string, name: string): Promise<TestHelper> {
  const program = join(dir, `docker-credential-${name}`);
  await writeFile(program, SCRIPT);
  await chmod(program, 0o755);
  const db = join(dir, 'db.json');
  const read = async (): Promise<{ creds: Record<string, { Username: string; Secret: string }>; calls: string[] }> => {
    try {
      return JSON.parse(await readFile(db, 'utf8')) as { creds: Record<string, { Username: string; Secret: string }>; calls: string[] };
    } catch {
      return { creds: {}, calls: [] };
    }
  };
  return {
    bin: dir,
    env: { ...process.env, PATH: `${dir}:${process.env['PATH'] ?? ''}` },
    stored: async () => (await read()).creds,
    calls: async () => (await read()).calls,
  };
}
