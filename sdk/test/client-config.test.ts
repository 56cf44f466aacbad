// Key files and devnet.json as the SDK and the CLI read them.

import test from 'ava';
import { mkdtemp, rm, stat, writeFile, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readKeyFile, writeKeyFile } from '@insitu/protocol';
import { devnetDir, readDevnet, devnetClientOptions } from '../src/config.ts';
import { generatePrivateKey, privateKeyToAddress } from '@insitu/protocol';

let dir: string;
test.before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'insitu-config-test-'));
});
test.after.always(() => rm(dir, { recursive: true, force: true }));

test('a written key file reads back, owner-only, with no temp file left', async (t) => {
  const key = generatePrivateKey();
  const file = join(dir, 'a.key');
  await writeKeyFile(file, key);
  t.is(await readKeyFile(file), key);
  t.is((await stat(file)).mode & 0o777, 0o600);
  t.deepEqual((await readdir(dir)).filter((f) => f.startsWith('a.key')), ['a.key']);
});

test('key files may hold bare hex or JSON; anything else is ERR_CONFIG, a missing one ERR_NOT_FOUND', async (t) => {
  const key = generatePrivateKey();
  await writeFile(join(dir, 'bare.key'), `  ${key.slice(2)}  \n`);
  t.is(await readKeyFile(join(dir, 'bare.key')), key);
  await writeFile(join(dir, 'json.key'), JSON.stringify({ privateKey: key }));
  t.is(await readKeyFile(join(dir, 'json.key')), key);
  for (const [name, text] of [['short.key', '0x1234'], ['empty.key', ''], ['badjson.key', '{ nope'], ['nokey.key', '{"address":"0x"}']]) {
    await writeFile(join(dir, name!), text!);
    const e = await t.throwsAsync(readKeyFile(join(dir, name!)));
    t.is((e as { code?: string }).code, 'ERR_CONFIG', name);
  }
  const e = await t.throwsAsync(readKeyFile(join(dir, 'missing.key')));
  t.is((e as { code?: string }).code, 'ERR_NOT_FOUND', 'a missing file is ERR_NOT_FOUND');
  t.regex((e as Error).message, /missing\.key/);
});

test('devnet.json: found in --dir, $INSITU_HOME or ./.insitu; absent is undefined, broken is ERR_CONFIG', async (t) => {
  t.is(devnetDir({ dir: 'x', env: { INSITU_HOME: '/h' }, cwd: '/c' }), '/c/x');
  t.is(devnetDir({ env: { INSITU_HOME: '/h' }, cwd: '/c' }), '/h');
  t.is(devnetDir({ env: {}, cwd: '/c' }), '/c/.insitu');
  const net = join(dir, 'net');
  t.is(await readDevnet(net), undefined);
  const e1 = await t.throwsAsync(devnetClientOptions(net));
  t.is((e1 as { code?: string }).code, 'ERR_CONFIG');
  await rm(net, { recursive: true, force: true });
  const { mkdir } = await import('node:fs/promises');
  await mkdir(net);
  await writeFile(join(net, 'devnet.json'), '{"rpcUrl": 5');
  const e2 = await t.throwsAsync(readDevnet(net));
  t.is((e2 as { code?: string }).code, 'ERR_CONFIG');
  const privateKey = generatePrivateKey();
  await writeFile(join(net, 'devnet.json'), JSON.stringify({
    chainId: 'insitu_9000-1', evmChainId: '9000', rpcUrl: 'http://127.0.0.1:1', control: 'http://127.0.0.1:2', dir: net, nodes: [],
    account: { address: privateKeyToAddress(privateKey), privateKey, keyFile: join(net, 'account.key') },
  }));
  t.deepEqual(await devnetClientOptions(net), { chain: { rpcUrl: 'http://127.0.0.1:1', chainId: 'insitu_9000-1' }, account: { privateKey } });
});
