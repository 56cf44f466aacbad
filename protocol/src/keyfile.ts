// Key files: a private key as hex on one line (what `insitu devnet up` writes), or JSON with a
// `privateKey` field. Written owner-only, through a temp file so a crash never leaves half a key.

import { link, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { InsituError } from './errors.ts';
import { normalizePrivateKey, type Hex } from './crypto/keys.ts';

export async function readKeyFile(path: string): Promise<Hex> {
  let text: string;
  try {
    text = (await readFile(path, 'utf8')).trim();
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'ENOENT') throw new InsituError('ERR_NOT_FOUND', `no key file ${path}`, { cause });
    throw new InsituError('ERR_CONFIG', `cannot read key file ${path}`, { cause });
  }
  try {
    const key = text.startsWith('{') ? String((JSON.parse(text) as { privateKey?: unknown }).privateKey ?? '') : text;
    return normalizePrivateKey(key);
  } catch (cause) {
    throw new InsituError('ERR_CONFIG', `key file ${path} holds no private key (32 bytes of hex, or JSON {"privateKey": "0x…"})`, { cause });
  }
}

/** Writes the key owner-only (0600); with `exclusive`, refuses (ERR_CONFIG) to replace a file already there. */
export async function writeKeyFile(path: string, privateKey: string, opts: { exclusive?: boolean } = {}): Promise<void> {
  const key = normalizePrivateKey(privateKey);
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, `${key}\n`, { mode: 0o600 });
  if (!opts.exclusive) return rename(tmp, path);
  // link() fails if the name exists: no window in which another writer's key could be replaced.
  try {
    await link(tmp, path);
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'EEXIST') throw new InsituError('ERR_CONFIG', `${path} already holds a key; choose another name`, { cause });
    throw cause;
  } finally {
    await unlink(tmp).catch(() => undefined);
  }
}
