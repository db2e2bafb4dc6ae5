/**
 * `user:` as Docker resolves it inside the image: `name`, `uid`, `name:group`, `uid:gid`, with
 * names looked up in the container's /etc/passwd and /etc/group, the primary group from
 * passwd when none is given, and `group_add` as extra groups (names or numbers).
 */
import { TscError } from '../lib/errors.js';

export interface ResolvedUser {
  uid: number;
  gid: number;
  additionalGids: number[];
}

interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
}

function parseTable(text: string): string[][] {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => l.split(':'));
}

export function parsePasswd(text: string): PasswdEntry[] {
  return parseTable(text).map((f) => ({ name: f[0] ?? '', uid: Number(f[2]), gid: Number(f[3]) }));
}

export function parseGroup(text: string): Array<{ name: string; gid: number }> {
  return parseTable(text).map((f) => ({ name: f[0] ?? '', gid: Number(f[2]) }));
}

const numeric = (s: string) => /^\d+$/.test(s);

export function resolveUser(user: string, groupAdd: readonly string[], passwdText: string, groupText: string): ResolvedUser {
  const passwd = parsePasswd(passwdText);
  const groups = parseGroup(groupText);
  const [u = '', g] = user.split(':');
  let uid = 0;
  let gid = 0;
  if (u !== '') {
    const byName = passwd.find((p) => p.name === u);
    if (byName !== undefined) {
      uid = byName.uid;
      gid = byName.gid;
    } else if (numeric(u)) {
      uid = Number(u);
      gid = passwd.find((p) => p.uid === uid)?.gid ?? 0;
    } else {
      throw new TscError('ERR_RUNTIME', `unable to find user ${u}: no matching entries in passwd file`);
    }
  }
  const groupId = (name: string): number => {
    if (numeric(name)) return Number(name);
    const found = groups.find((x) => x.name === name);
    if (found === undefined) throw new TscError('ERR_RUNTIME', `unable to find group ${name}: no matching entries in group file`);
    return found.gid;
  };
  if (g !== undefined && g !== '') gid = groupId(g);
  return { uid, gid, additionalGids: groupAdd.map(groupId) };
}
