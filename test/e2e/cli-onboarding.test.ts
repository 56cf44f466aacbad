// A newcomer's path with the CLI alone, against a real in-process testnet found through its
// devnet.json: key new → devnet faucet → send → the second account stores an object; plus the
// CLI's contract for people and scripts (usage errors, --version, completion, missing things).

import test from 'ava';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Readable } from 'node:stream';
import { randomBytes } from 'node:crypto';
import { createChainReader } from '@insitu/sdk/chain';
import { generatePrivateKey, privateKeyToAddress } from '@insitu/protocol';
import { run } from '@insitu/cli';
import { createTestnet, type Testnet } from '../src/testnet.ts';
import { capture } from '../src/capture.ts';

let net: Testnet;
let home: string;
let keys: string;
const BNB = 10n ** 18n;

test.before(async () => {
  net = await createTestnet({ nodes: 7, accounts: 1 });
  // What `insitu devnet up` leaves behind: devnet.json naming the chain and the funded account.
  home = join(net.dir, 'home');
  keys = join(net.dir, 'keys');
  await mkdir(home, { recursive: true });
  const account = net.accounts[0]!;
  await writeFile(join(home, 'devnet.json'), JSON.stringify({
    chainId: net.chainId, evmChainId: '9000', rpcUrl: net.rpcUrl, control: 'http://127.0.0.1:9', dir: home, nodes: [],
    account: { address: account.address, privateKey: account.privateKey, keyFile: join(home, 'account.key') },
  }));
});
test.after.always(async () => {
  await net?.stop();
});

/** The CLI as a newcomer runs it: no --rpc, no --chain-id; the devnet is found in $INSITU_HOME. */
async function cli(args: string[], env: NodeJS.ProcessEnv = {}, stdin?: Readable) {
  const stdout = capture();
  const stderr = capture();
  const code = await run(args, { stdout, stderr, env: { INSITU_HOME: home, INSITU_KEYS: keys, ...env }, cwd: net.dir, ...(stdin ? { stdin } : {}) });
  return { code, out: stdout.text(), err: stderr.text() };
}

const balance = async (address: string): Promise<bigint> => {
  const reader = await createChainReader({ rpcUrl: net.rpcUrl, chainId: net.chainId });
  return (await reader.getAccount(address as `0x${string}`).catch(() => ({ balance: 0n }))).balance;
};

test.serial('from nothing to a second account storing an object: key new, devnet faucet, send, bucket create, put, get', async (t) => {
  let r = await cli(['key', 'new', 'alice']);
  t.is(r.code, 0, r.err);
  const alice = /address +(0x[0-9a-fA-F]{40})/.exec(r.out)?.[1];
  t.truthy(alice, r.out);
  const aliceFile = join(keys, 'alice.key');
  t.is((await stat(aliceFile)).mode & 0o777, 0o600, 'the key file is owner-only');
  const alicePriv = (await readFile(aliceFile, 'utf8')).trim();
  t.is(privateKeyToAddress(alicePriv), alice as `0x${string}`);
  t.false(r.out.includes(alicePriv.slice(2)) || r.err.includes(alicePriv.slice(2)), 'key new never prints the private key');
  r = await cli(['key', 'new', 'bob', '--json']);
  t.is(r.code, 0, r.err);
  const bob = (JSON.parse(r.out) as { address: string }).address;
  t.false('privateKey' in JSON.parse(r.out));

  r = await cli(['key', 'show', 'alice']);
  t.is(r.code, 0, r.err);
  t.regex(r.out, new RegExp(`address +${alice}`));
  t.false(r.out.includes(alicePriv.slice(2)) || r.err.includes(alicePriv.slice(2)), 'key show keeps the private key to itself');
  r = await cli(['key', 'show', 'alice', '--private-key', '--json']);
  t.is((JSON.parse(r.out) as { privateKey: string }).privateKey, alicePriv, 'printed when asked explicitly');
  r = await cli(['key', 'ls']);
  t.regex(r.out, new RegExp(`^NAME +ADDRESS +FILE\\nalice +${alice} +\\S+alice\\.key\\nbob +${bob} `, 'm'));

  // A new account is unknown to the chain until funded.
  r = await cli(['bucket', 'create', 'bobs-bucket', '--key', 'bob']);
  t.is(r.code, 1);
  t.regex(r.err, /ERR_(ACCOUNT_NOT_FOUND|INSUFFICIENT_BALANCE)/);

  r = await cli(['devnet', 'faucet', alice!, '5BNB']);
  t.is(r.code, 0, r.err);
  t.regex(r.out, new RegExp(`funded ${alice} with 5 BNB`));
  t.is(await balance(alice!), 5n * BNB);

  r = await cli(['send', bob, '100', '--key', 'alice']);
  t.is(r.code, 1);
  t.regex(r.err, /^error ERR_INVALID_ARGUMENT: the amount needs a unit/m, 'a bare number is ambiguous');
  r = await cli(['send', bob, '1.5', '--key', 'alice']);
  t.regex(r.err, /ERR_INVALID_ARGUMENT/);
  r = await cli(['send', 'not-an-address', '1BNB', '--key', 'alice']);
  t.regex(r.err, /ERR_INVALID_ARGUMENT: the recipient must be an address/);
  r = await cli(['send', bob, '1.0000000000000000001BNB', '--key', 'alice']);
  t.regex(r.err, /ERR_INVALID_ARGUMENT: .*finer than one base unit/);
  r = await cli(['send', bob, '6BNB', '--key', 'alice']);
  t.regex(r.err, /ERR_INSUFFICIENT_BALANCE/);
  t.is(await balance(alice!), 5n * BNB, 'refused sends move nothing');

  // --key takes a key name; INSITU_KEY does the same from the environment.
  r = await cli(['send', bob, '1.5BNB', '--json'], { INSITU_KEY: 'alice' });
  t.is(r.code, 0, r.err);
  t.is((JSON.parse(r.out) as { amount: string }).amount, String(15n * BNB / 10n), 'raw base units under --json');
  t.is(await balance(bob), 15n * BNB / 10n);
  t.true(await balance(alice!) < 35n * BNB / 10n, 'alice paid the amount and the fee');
  r = await cli(['send', bob, '1000wei', '--key', aliceFile, '--base-units']);
  t.is(r.code, 0, r.err);
  t.regex(r.out, /sent 1000 wei .* now holds 1500000000000001000 wei/);

  r = await cli(['bucket', 'create', 'bobs-bucket', '--key', 'bob']);
  t.is(r.code, 0, r.err);
  const data = randomBytes(70_000);
  await writeFile(join(net.dir, 'bob.bin'), data);
  r = await cli(['put', 'bob.bin', 'bobs-bucket/first.bin', '--key', 'bob']);
  t.is(r.code, 0, r.err);
  t.regex(r.out, /stored bobs-bucket\/first\.bin \(68\.4 KiB/);
  r = await cli(['get', 'bobs-bucket/first.bin', 'bob-back.bin'], { INSITU_KEY: 'bob' });
  t.is(r.code, 0, r.err);
  t.true((await readFile(join(net.dir, 'bob-back.bin'))).equals(data));
  r = await cli(['ls', 'bobs-bucket', '--key', 'bob']);
  t.regex(r.out, /^NAME +SIZE +STATUS +CREATED\nfirst\.bin +68\.4 KiB +sealed +\d{4}-/);
  r = await cli(['ls', 'bobs-bucket', '--key', 'bob', '--json']);
  t.is((JSON.parse(r.out) as { payloadSize: string }[])[0]!.payloadSize, '70000', 'raw bytes under --json');
});

test.serial('keys: a name is never overwritten, import reads a file or stdin, missing files are ERR_NOT_FOUND', async (t) => {
  let r = await cli(['key', 'new', 'carol']);
  t.is(r.code, 0, r.err);
  const before = await readFile(join(keys, 'carol.key'), 'utf8');
  r = await cli(['key', 'new', 'carol']);
  t.is(r.code, 1);
  t.regex(r.err, /ERR_CONFIG: .*carol\.key already holds a key/);
  t.is(await readFile(join(keys, 'carol.key'), 'utf8'), before, 'the existing key is untouched');
  r = await cli(['key', 'new', '../escape']);
  t.regex(r.err, /ERR_INVALID_ARGUMENT: a key name/);
  r = await cli(['key', 'import', 'dave', 'no-such.key']);
  t.is(r.code, 1);
  t.regex(r.err, /^error ERR_NOT_FOUND: no key file .*no-such\.key/m);
  const priv = generatePrivateKey();
  await writeFile(join(net.dir, 'dave.txt'), `${priv}\n`);
  r = await cli(['key', 'import', 'dave', 'dave.txt', '--json']);
  t.is(r.code, 0, r.err);
  t.is((JSON.parse(r.out) as { address: string }).address, privateKeyToAddress(priv));
  t.is((await stat(join(keys, 'dave.key'))).mode & 0o777, 0o600);
  t.false(r.out.includes(priv.slice(2)));
  const priv2 = generatePrivateKey();
  r = await cli(['key', 'import', 'erin', '-'], {}, Readable.from([JSON.stringify({ privateKey: priv2 })]));
  t.is(r.code, 0, r.err);
  t.regex(r.out, new RegExp(privateKeyToAddress(priv2)));
  r = await cli(['key', 'import', 'frank', '-'], {}, Readable.from(['not a key']));
  t.regex(r.err, /ERR_INVALID_ARGUMENT: stdin holds no private key/);
  r = await cli(['account', '--key', 'nobody-by-this-name']);
  t.regex(r.err, /^error ERR_NOT_FOUND: no key file/m);
  r = await cli(['put', 'no-such-file', 'bobs-bucket/x', '--key', 'bob']);
  t.regex(r.err, /^error ERR_NOT_FOUND: /m);
  r = await cli(['job', 'run', 'no-such-module.wasm', 'bobs-bucket/first.bin', '--key', 'bob']);
  t.is(r.code, 1);
  t.regex(r.err, /^error ERR_NOT_FOUND: .*no-such-module\.wasm/m, 'a missing module is ERR_NOT_FOUND too');
  r = await cli(['account', '--rpc', net.rpcUrl, '--chain-id', 'nonsense', '--key', 'bob']);
  t.regex(r.err, /^error ERR_INVALID_ARGUMENT: chain id "nonsense"/m, 'bad input is never ERR_INTERNAL');
});

test.serial('ls of a bucket that does not exist is an error, for people and under --json', async (t) => {
  let r = await cli(['ls', 'no-such-bucket']);
  t.is(r.code, 1);
  t.regex(r.err, /^error ERR_BUCKET_NOT_FOUND: /m);
  r = await cli(['ls', 'no-such-bucket', '--json']);
  t.is(r.code, 1);
  t.is((JSON.parse(r.err) as { error: { code: string } }).error.code, 'ERR_BUCKET_NOT_FOUND');
});

test.serial('usage errors print one reason and the command\'s usage and exit 2; as JSON under --json', async (t) => {
  let r = await cli(['put', 'only-a-file']);
  t.is(r.code, 2);
  t.is(r.err, "error ERR_USAGE: missing required argument 'target'\nusage: insitu put [options] <file> <target>\n(see insitu put --help)\n");
  t.is(r.out, '');
  r = await cli(['send', '--json']);
  t.is(r.code, 2);
  const e = (JSON.parse(r.err) as { error: { code: string; message: string; usage: string } }).error;
  t.is(e.code, 'ERR_USAGE');
  t.is(e.message, "missing required argument 'address'");
  t.is(e.usage, 'insitu send [options] <address> <amount>');
  r = await cli(['key', 'frobnicate', '--json']);
  t.is(r.code, 2);
  t.is((JSON.parse(r.err) as { error: { code: string } }).error.code, 'ERR_USAGE');
  r = await cli(['bucket']);
  t.is(r.code, 2, 'a group without its command is a usage error');
  t.regex(r.err, /Usage: insitu bucket \[options\] \[command\]/);
  r = await cli(['help']);
  t.is(r.code, 0);
  t.regex(r.out, /Usage: insitu/);
  r = await cli(['bucket', 'ls', '--no-such-option']);
  t.is(r.code, 2);
  t.regex(r.err, /^error ERR_USAGE: unknown option '--no-such-option'\nusage: insitu bucket ls /);
});

test.serial('--version is the package version, through the real bin too; completion scripts name every command', async (t) => {
  const { version } = JSON.parse(await readFile(new URL('../../cli/package.json', import.meta.url), 'utf8')) as { version: string };
  let r = await cli(['--version']);
  t.is(r.code, 0);
  t.is(r.out, `${version}\n`);
  const bin = fileURLToPath(new URL('../../cli/bin/insitu.js', import.meta.url));
  const real = await promisify(execFile)(process.execPath, [bin, '--version'], { env: { ...process.env, INSITU_HOME: home } });
  t.is(real.stdout, `${version}\n`);
  r = await cli(['completion', 'bash']);
  t.is(r.code, 0, r.err);
  t.regex(r.out, /complete -o default -F _insitu insitu/);
  for (const word of ['key', 'send', 'bucket', 'put', 'job', 'node', 'completion', '--key', '--json']) t.true(r.out.includes(` ${word}`), word);
  t.regex(r.out, /'key'\) echo 'new import ls show/);
  t.regex(r.out, /'devnet'\) echo 'faucet /);
  // The script works in bash: completing after `insitu key ` and `insitu devnet fau`.
  await writeFile(join(net.dir, 'insitu.bash'), r.out);
  const complete = async (...words: string[]): Promise<string> => (await promisify(execFile)('bash', ['-c',
    `source ${join(net.dir, 'insitu.bash')}; COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _insitu; echo "\${COMPREPLY[*]}"`])).stdout.trim();
  t.regex(await complete('insitu', 'key', ''), /^new import ls show --/);
  t.is(await complete('insitu', '--json', 'devnet', 'fau'), 'faucet');
  t.is(await complete('insitu', 'se'), 'send');
  r = await cli(['completion', 'zsh']);
  t.is(r.code, 0, r.err);
  t.regex(r.out, /^#compdef insitu/);
  t.regex(r.out, /'send:send BNB from your account to another account'/);
  r = await cli(['completion', 'fish']);
  t.is(r.code, 1);
  t.regex(r.err, /ERR_INVALID_ARGUMENT: completion is for bash or zsh/);
});

test.serial('node start finds the chain in devnet.json when --chain is not given', async (t) => {
  let r = await cli(['key', 'new', 'operator']);
  t.is(r.code, 0, r.err);
  // An unfunded operator gets as far as the chain's answer: it holds too little for the deposit.
  r = await cli(['node', 'start', '--dir', join(net.dir, 'op-node'), '--key', 'operator', '--port', '9']);
  t.is(r.code, 1);
  t.regex(r.err, /ERR_INSUFFICIENT_BALANCE: a new provider deposits at least \d+ base units.*insitu devnet faucet 0x/);
  r = await cli(['node', 'start', '--dir', join(net.dir, 'op-node'), '--port', '9']);
  t.regex(r.err, /ERR_CONFIG: no operator key: pass --key/);
  r = await cli(['node', 'start', '--dir', join(net.dir, 'op-node'), '--key', 'operator', '--port', '9'], { INSITU_HOME: join(net.dir, 'nowhere') });
  t.regex(r.err, /ERR_CONFIG: no chain: pass --chain <url>/);
});
