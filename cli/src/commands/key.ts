// `insitu key new|import|ls|show`: account keys kept as owner-only (0600) files in the keys dir
// ($INSITU_KEYS, else ~/.insitu/keys), named so that `--key <name>` finds them. A private key is
// printed only by `key show --private-key`; import reads it from a file or stdin, never from the
// command line (where shell history and the process list would keep it).

import { mkdir, readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Command } from 'commander';
import type { CommandContext } from './context.ts';
import { InsituError } from '@insitu/protocol';
import { generatePrivateKey, normalizePrivateKey, privateKeyToAddress } from '@insitu/protocol';
import { readKeyFile, writeKeyFile } from '@insitu/protocol';
import { KEY_NAME, devnetDir, keyPath, keysDir, namedKey, readDevnet } from '../config.ts';
import { table } from '../format.ts';

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const parts: Buffer[] = [];
  for await (const chunk of stream) parts.push(Buffer.from(chunk as Uint8Array));
  return Buffer.concat(parts).toString('utf8');
}

export function keyCommand({ io, globals, out }: CommandContext): Command {
  const dir = () => keysDir(io.env);
  const checkName = (name: string): void => {
    if (!KEY_NAME.test(name)) throw new InsituError('ERR_INVALID_ARGUMENT', `a key name is 1-64 letters, digits, ".", "-" or "_" (not starting with a symbol), not "${name}"`);
  };
  const store = async (name: string, privateKey: string): Promise<{ name: string; address: string; file: string }> => {
    await mkdir(dir(), { recursive: true, mode: 0o700 });
    const file = join(dir(), `${name}.key`);
    await writeKeyFile(file, privateKey, { exclusive: true });
    return { name, address: privateKeyToAddress(privateKey), file };
  };
  const key = new Command('key').description(`create, import and list account keys (kept in $INSITU_KEYS, default ~/.insitu/keys); use one with --key <name>`);

  key.command('new').argument('<name>', 'what to call it (then --key <name> signs with it)').description('create a new account key; prints its address, never the private key')
    .action(async (name: string) => {
      checkName(name);
      const k = await store(name, generatePrivateKey());
      out().result(k, `created key ${k.name}\naddress  ${k.address}\nfile     ${k.file} (mode 0600)\nfund it:  insitu send ${k.address} 1BNB   (or on a devnet: insitu devnet faucet ${k.address})`);
    });

  key.command('import').argument('<name>').argument('<file>', 'a file holding the private key (hex, or JSON {"privateKey": …}), or - for stdin')
    .description('import an existing private key under a name')
    .action(async (name: string, file: string) => {
      checkName(name);
      let privateKey: string;
      if (file === '-') {
        if (!io.stdin) throw new InsituError('ERR_INVALID_ARGUMENT', 'no stdin to read the key from');
        const text = (await readAll(io.stdin)).trim();
        try {
          privateKey = normalizePrivateKey(text.startsWith('{') ? String((JSON.parse(text) as { privateKey?: unknown }).privateKey ?? '') : text);
        } catch (cause) {
          throw new InsituError('ERR_INVALID_ARGUMENT', 'stdin holds no private key (32 bytes of hex, or JSON {"privateKey": "0x…"})', { cause });
        }
      } else {
        privateKey = await readKeyFile(resolve(io.cwd, file));
      }
      const k = await store(name, privateKey);
      out().result(k, `imported key ${k.name}\naddress  ${k.address}\nfile     ${k.file} (mode 0600)`);
    });

  key.command('ls').description('the keys in the keys dir with their addresses').action(async () => {
    let names: string[] = [];
    try {
      names = (await readdir(dir())).filter((f) => f.endsWith('.key')).sort();
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    const list = [];
    for (const f of names) {
      const file = join(dir(), f);
      const address = await readKeyFile(file).then(privateKeyToAddress, () => null);
      list.push({ name: f.slice(0, -4), address, file });
    }
    out().result(list, list.length ? table(['NAME', 'ADDRESS', 'FILE'], list.map((k) => [k.name, k.address ?? '(unreadable)', k.file])) : `(no keys in ${dir()}; create one with "insitu key new <name>")`);
  });

  key.command('show').argument('[name]', 'a key name or key file (default: the key in use: --key, $INSITU_KEY, or the devnet\'s account)')
    .option('--private-key', 'also print the private key (anyone who sees it controls the account)')
    .description('show a key\'s address and file')
    .action(async (name: string | undefined, o: { privateKey?: boolean }) => {
      let file: string | undefined = name !== undefined ? keyPath(name, io.env, io.cwd) : namedKey(globals(), io.env, io.cwd);
      let privateKey;
      if (file) {
        privateKey = await readKeyFile(file);
      } else {
        const d = devnetDir(globals(), io.env, io.cwd);
        const devnet = await readDevnet(d);
        if (!devnet) throw new InsituError('ERR_CONFIG', `no key in use: name one (insitu key show <name>), pass --key, set INSITU_KEY, or run a devnet in ${d}`);
        privateKey = devnet.account.privateKey;
        file = devnet.account.keyFile;
      }
      const address = privateKeyToAddress(privateKey);
      if (o.privateKey) io.stderr.write('warning: the private key below controls the account; do not share it\n');
      out().result({ address, file, ...(o.privateKey ? { privateKey } : {}) },
        `address  ${address}\nfile     ${file}${o.privateKey ? `\nprivate  ${privateKey}` : ''}`);
    });
  return key;
}
