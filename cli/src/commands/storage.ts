// Data owners' commands: account, bucket, put, ls, head, get, rm, cancel.

import { createWriteStream } from 'node:fs';
import { rename, unlink } from 'node:fs/promises';
import { once } from 'node:events';
import type { Command } from 'commander';
import { resolve } from 'node:path';
import { InsituError } from '@insitu/protocol';
import { parseStatement, parseTime, formatStatement } from '@insitu/sdk';
import { isAddress } from '@insitu/protocol';
import type { Principal } from '@insitu/protocol/chain';
import { createClient, type InsituClient } from '@insitu/sdk';
import { resolveNetwork, type GlobalOptions } from '../config.ts';
import { printer, progressBar, type CliIO } from '../io.ts';
import { formatBytes, formatDate, table } from '../format.ts';
import { parseSize } from './payments.ts';

export function splitTarget(target: string, needObject: boolean): { bucket: string; object?: string } {
  const at = target.indexOf('/');
  const bucket = at === -1 ? target : target.slice(0, at);
  const object = at === -1 ? undefined : target.slice(at + 1);
  if (!bucket) throw new InsituError('ERR_INVALID_ARGUMENT', `"${target}" names no bucket (use <bucket>/<name>)`);
  if (needObject && !object) throw new InsituError('ERR_INVALID_ARGUMENT', `"${target}" names no object (use <bucket>/<name>)`);
  return object ? { bucket, object } : { bucket };
}

export function parseRange(text: string): { start: number; end: number } {
  const m = /^(\d+)-(\d+)$/.exec(text);
  if (!m || Number(m[1]) > Number(m[2])) throw new InsituError('ERR_INVALID_RANGE', `--range "${text}" must be a-b with a ≤ b (bytes, inclusive)`);
  return { start: Number(m[1]), end: Number(m[2]) };
}

/** Waits until a stream takes more bytes, or can take none (closed or failed; the caller checks). */
function drained(sink: NodeJS.WritableStream): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      sink.off('drain', done);
      sink.off('close', done);
      sink.off('error', done);
      resolve();
    };
    sink.on('drain', done);
    sink.on('close', done);
    sink.on('error', done);
  });
}

export function storageCommands(program: Command, io: CliIO, globals: () => GlobalOptions): void {
  const client = async (): Promise<InsituClient> => {
    const net = await resolveNetwork(globals(), io.env, io.cwd, true);
    return createClient({ chain: { rpcUrl: net.rpcUrl, chainId: net.chainId }, account: { privateKey: net.privateKey! } });
  };
  const out = () => printer(io, globals().json === true);

  const bucket = program.command('bucket').description('create, list and remove buckets');
  bucket.command('create').argument('<name>').option('--public-read', 'anyone may read its objects (default: private)')
    .option('--primary <address>', 'operator address of the primary storage provider')
    .option('--payment-account <address>', 'pay from one of your payment accounts (default: your own account)')
    .option('--read-quota <size>', 'read quota to buy per month on top of the free quota, e.g. 10GiB')
    .action(async (name: string, o: { publicRead?: boolean; primary?: string; paymentAccount?: string; readQuota?: string }) => {
      const c = await client();
      const b = await c.buckets.create(name, {
        visibility: o.publicRead ? 'public-read' : 'private', ...(o.primary ? { primarySp: o.primary as `0x${string}` } : {}),
        ...(o.paymentAccount ? { paymentAddress: o.paymentAccount as `0x${string}` } : {}),
        ...(o.readQuota ? { chargedReadQuota: parseSize(o.readQuota, '--read-quota') } : {}),
      });
      out().result(b, `created bucket ${b.name} (${b.visibility}, primary provider ${b.primarySpId})`);
    });
  bucket.command('ls').description('list your buckets').action(async () => {
    const c = await client();
    const list = await c.buckets.list();
    out().result(list, list.length ? table(['NAME', 'VISIBILITY', 'PRIMARY', 'CREATED'], list.map((b) => [b.name, b.visibility, b.primarySpId, formatDate(b.createdAt)])) : '(no buckets)');
  });
  bucket.command('rm').argument('<name>').description('remove an empty bucket').action(async (name: string) => {
    const c = await client();
    const tx = await c.buckets.delete(name);
    out().result(tx, `removed bucket ${name}`);
  });

  bucket.command('update').argument('<name>').description('change who may read the bucket\'s objects, or who pays for it')
    .option('--visibility <v>', 'private or public-read')
    .option('--payment-account <address>', 'pay from this payment account of yours (or your own address)')
    .action(async (name: string, o: { visibility?: string; paymentAccount?: string }) => {
      if (!o.visibility && !o.paymentAccount) throw new InsituError('ERR_INVALID_ARGUMENT', 'say what to change: --visibility and/or --payment-account');
      const c = await client();
      const done: string[] = [];
      let tx;
      if (o.visibility) {
        tx = await c.buckets.update(name, { visibility: o.visibility as 'private' });
        done.push(`is now ${o.visibility}`);
      }
      if (o.paymentAccount) {
        if (!isAddress(o.paymentAccount)) throw new InsituError('ERR_INVALID_ARGUMENT', `--payment-account must be an address, not "${o.paymentAccount}"`);
        tx = await c.buckets.setPaymentAccount(name, o.paymentAccount as `0x${string}`);
        done.push(`is paid by ${o.paymentAccount}`);
      }
      out().result(tx, `bucket ${name} ${done.join(' and ')}`);
    });

  program.command('object').description('change an object after upload')
    .command('update').argument('<target>', '<bucket>/<name>').description('change who may read the object')
    .requiredOption('--visibility <v>', 'private, public-read, or inherit (follow its bucket)')
    .action(async (target: string, o: { visibility: string }) => {
      const { bucket: b, object } = splitTarget(target, true);
      const c = await client();
      const tx = await c.objects.update(b, object!, { visibility: o.visibility as 'private' });
      out().result(tx, `${b}/${object} is now ${o.visibility}`);
    });

  program.command('put').description('upload a file (or stdin with "-") as an object, streamed; any size')
    .argument('<file>', 'a file, or - for stdin').argument('<target>', '<bucket>/<name>')
    .option('--public-read', 'anyone may read this object').option('--content-type <type>')
    .option('--replace-stale', 'cancel an unfinished upload of other content under this name first')
    .action(async (file: string, target: string, o: { publicRead?: boolean; contentType?: string; replaceStale?: boolean }) => {
      const { bucket: b, object } = splitTarget(target, true);
      if (file === '-' && !io.stdin) throw new InsituError('ERR_INVALID_ARGUMENT', 'no stdin to read from');
      const c = await client();
      const bar = progressBar(io, `put ${target}`);
      let info;
      try {
        info = await c.objects.put(b, object!, file === '-' ? io.stdin! : resolve(io.cwd, file), {
          ...(o.publicRead ? { visibility: 'public-read' as const } : {}),
          ...(o.contentType ? { contentType: o.contentType } : {}),
          ...(o.replaceStale ? { replaceStale: true } : {}),
          onProgress: (sent, total) => bar.update(sent, total),
        });
      } finally {
        bar.done();
      }
      out().result(info, `stored ${b}/${object} (${formatBytes(info.payloadSize)}, object id ${info.id}, ${info.status})`);
    });

  program.command('ls').description('list the objects of a bucket').argument('<bucket>').option('--prefix <prefix>')
    .action(async (b: string, o: { prefix?: string }) => {
      const c = await client();
      // A bucket that does not exist is an error, not an empty listing (ERR_BUCKET_NOT_FOUND).
      await c.buckets.head(b);
      const list = await c.objects.list(b, o.prefix ? { prefix: o.prefix } : {});
      out().result(list, list.length
        ? table(['NAME', 'SIZE', 'STATUS', 'CREATED'], list.map((x) => [x.objectName, formatBytes(x.payloadSize), x.status, formatDate(x.createdAt)]), { right: [1] })
        : '(no objects)');
    });

  program.command('head').description('show an object: size, checksums, status and where its pieces live').argument('<target>', '<bucket>/<name>')
    .action(async (target: string) => {
      const { bucket: b, object } = splitTarget(target, true);
      const c = await client();
      const h = await c.objects.head(b, object!);
      const lines = [
        `object     ${h.bucketName}/${h.objectName} (id ${h.id})`,
        `size       ${formatBytes(h.payloadSize)} (${h.payloadSize} bytes)`,
        `created    ${formatDate(h.createdAt)}`,
        `status     ${h.status}`,
        `visibility ${h.visibility}`,
        `owner      ${h.owner}`,
        `checksums  object  ${Buffer.from(h.checksums[0]!).toString('hex')}`,
        ...h.checksums.slice(1).map((x, i) => `           piece ${i} ${Buffer.from(x).toString('hex')}`),
        'placement',
        ...h.placement.map((p) => `  ${p.role === 'primary' ? 'primary (whole object)' : `piece ${p.index} (${p.role})`}\tprovider ${p.spId}\t${p.endpoint}`),
      ];
      out().result(h, lines.join('\n'));
    });

  program.command('get').description('download an object to a file or stdout').argument('<target>', '<bucket>/<name>').argument('[file]')
    .option('--range <a-b>', 'only bytes a..b (inclusive)')
    .action(async (target: string, file: string | undefined, o: { range?: string }) => {
      const { bucket: b, object } = splitTarget(target, true);
      const range = o.range ? parseRange(o.range) : undefined;
      const c = await client();
      const path = file ? resolve(io.cwd, file) : undefined;
      // A bar only when the bytes go to a file and a person watches stderr.
      const bar = path && io.stderr.isTTY ? progressBar(io, `get ${target}`) : undefined;
      let total = 0n;
      if (bar) {
        const size = (await c.objects.head(b, object!)).payloadSize;
        total = range ? BigInt(Math.max(0, Math.min(range.end, Number(size) - 1) - range.start + 1)) : size;
      }
      // Written beside the target and renamed into place once complete and verified, so a failed
      // download neither leaves partial bytes nor destroys a file that was there before.
      const partial = path ? `${path}.partial-${process.pid}` : undefined;
      const sink = partial ? createWriteStream(partial) : io.stdout;
      // A reader that closes the pipe early (`insitu get … | head`) ends the download quietly.
      let sinkError: Error | undefined;
      const onSinkError = (e: Error): void => void (sinkError ??= e);
      sink.on('error', onSinkError);
      const closedPipe = (e: unknown): boolean => !path && (e as NodeJS.ErrnoException)?.code === 'EPIPE';
      const ac = new AbortController();
      let bytes = 0;
      try {
        if (path) {
          try {
            await once(sink, 'open');
          } catch (cause) {
            throw new InsituError('ERR_INVALID_ARGUMENT', `cannot write ${file}: ${(cause as Error).message}`, { cause });
          }
        }
        for await (const chunk of c.objects.get(b, object!, { ...(range ? { range } : {}), signal: ac.signal, onDegraded: (r) => printer(io, globals().json === true).info(`primary unavailable (${r}); reading from secondaries`) })) {
          bytes += chunk.length;
          bar?.update(BigInt(bytes), total);
          if (!sink.write(chunk)) await drained(sink);
          if (sinkError) throw sinkError;
        }
        if (sinkError) throw sinkError;
        bar?.done();
      } catch (e) {
        ac.abort();
        if (closedPipe(e)) return;
        bar?.done();
        // A file holds either the whole verified answer or nothing.
        if (partial) {
          sink.destroy();
          await unlink(partial).catch(() => undefined);
        }
        throw e;
      }
      if (!path) sink.off('error', onSinkError);
      if (path) {
        sink.end();
        await once(sink, 'finish');
        await rename(partial!, path);
        out().result({ bucket: b, object, bytes, file: path }, `wrote ${formatBytes(bytes)} to ${file}`);
      }
    });

  program.command('rm').description('delete an object').argument('<target>', '<bucket>/<name>').action(async (target: string) => {
    const { bucket: b, object } = splitTarget(target, true);
    const c = await client();
    const tx = await c.objects.delete(b, object!);
    out().result(tx, `deleted ${b}/${object}`);
  });

  program.command('cancel').description('cancel an unfinished upload so its name can be reused').argument('<target>', '<bucket>/<name>')
    .action(async (target: string) => {
      const { bucket: b, object } = splitTarget(target, true);
      const c = await client();
      const tx = await c.objects.cancel(b, object!);
      out().result(tx, `cancelled the upload of ${b}/${object}`);
    });

  const policy = program.command('policy').description('grant or revoke access to a bucket or object');
  /** An account address, or group:<id>. */
  const principalOf = (who: string): Principal => {
    const g = /^group:(\d+)$/.exec(who);
    if (g) return { type: 'group', groupId: BigInt(g[1]!) };
    if (!isAddress(who)) throw new InsituError('ERR_INVALID_ARGUMENT', `"${who}" is neither an account address nor group:<id>`);
    return { type: 'account', address: who as `0x${string}` };
  };
  const actionsOf = (text: string) => text.split(',').map((a) => a.trim()).filter(Boolean).map((a) => {
    const map: Record<string, string> = { get: 'get-object', put: 'create-object', create: 'create-object', delete: 'delete-object', list: 'list-object', update: 'update-object', copy: 'copy-object', execute: 'execute-object', all: 'all' };
    const action = map[a] ?? a;
    if (!['get-object', 'create-object', 'delete-object', 'list-object', 'update-object', 'copy-object', 'execute-object', 'all', 'update-bucket', 'delete-bucket'].includes(action)) {
      throw new InsituError('ERR_INVALID_ARGUMENT', `unknown action "${a}" (use get, put, delete, list, update, copy, execute, all)`);
    }
    return action as 'get-object';
  });
  policy.command('grant').argument('<target>', '<bucket>[/<name>]').argument('<address>').requiredOption('--actions <list>', 'comma-separated: get,put,delete,list,update,copy,execute,all')
    .option('--modules <hashes>', 'comma-separated SHA-256 of the only job modules the grantee may run (with execute)')
    .option('--max-output <bytes>', 'output policy (with execute): the most output one job may return')
    .option('--max-output-ratio <fraction>', 'output policy (with execute): the most output per byte of input, e.g. 0.01')
    .action(async (target: string, address: string, o: { actions: string; modules?: string; maxOutput?: string; maxOutputRatio?: string }) => {
      const t = splitTarget(target, false);
      const c = await client();
      const modules = o.modules ? o.modules.split(',').map((m) => m.trim()).filter(Boolean) : undefined;
      if (o.maxOutput !== undefined && !/^\d+$/.test(o.maxOutput)) throw new InsituError('ERR_INVALID_ARGUMENT', `--max-output takes a number of bytes, not "${o.maxOutput}"`);
      const ratio = o.maxOutputRatio === undefined ? undefined : Number(o.maxOutputRatio);
      if (ratio !== undefined && !(ratio >= 0)) throw new InsituError('ERR_INVALID_ARGUMENT', `--max-output-ratio takes a non-negative number, not "${o.maxOutputRatio}"`);
      const tx = await c.policies.grant(t, address as `0x${string}`, actionsOf(o.actions), {
        ...(modules ? { modules } : {}), ...(o.maxOutput !== undefined ? { maxOutputBytes: BigInt(o.maxOutput) } : {}), ...(ratio !== undefined ? { maxOutputRatio: ratio } : {}),
      });
      for (const w of tx.warnings) io.stderr.write(`warning: ${w}\n`);
      out().result(tx, `granted ${o.actions} on ${target} to ${address}`);
    });
  policy.command('revoke').argument('<target>', '<bucket>[/<name>]').argument('<address>')
    .action(async (target: string, address: string) => {
      const t = splitTarget(target, false);
      const c = await client();
      const tx = await c.policies.revoke(t, address as `0x${string}`);
      out().result(tx, `revoked ${address}'s access to ${target}`);
    });
  policy.command('put').argument('<target>', '<bucket>[/<name>]').argument('<principal>', 'the account address the policy is for, or group:<id>')
    .argument('<statements...>', 'each: "allow|deny <actions> [on <names>] [until <date>]", e.g. "allow get,list on reports/*" "deny delete"')
    .option('--expires <date>', 'when the whole policy ends (YYYY-MM-DD or ISO date-time)')
    .description('set the whole policy of an account or a group on a bucket or object (replaces the one it had)')
    .action(async (target: string, who: string, statements: string[], o: { expires?: string }) => {
      const t = splitTarget(target, false);
      const principal = principalOf(who);
      const parsed = statements.map((text) => parseStatement(text, t.bucket));
      const c = await client();
      const tx = await c.policies.put(t, principal, parsed, o.expires ? { expiresAt: parseTime(o.expires) } : {});
      out().result(tx, `policy ${tx.policyId} on ${target} for ${who}:\n${parsed.map((x) => `  ${formatStatement(x)}`).join('\n')}`);
    });
  policy.command('rm').argument('<target>', '<bucket>[/<name>]').argument('<principal>', 'account address or group:<id>').description('remove the policy of an account or a group')
    .action(async (target: string, who: string) => {
      const t = splitTarget(target, false);
      const c = await client();
      const tx = await c.policies.remove(t, principalOf(who));
      out().result(tx, `removed ${who}'s policy on ${target}`);
    });

  const group = program.command('group').description('groups of accounts that policies can name');
  group.command('create').argument('<name>').option('--extra <text>', 'a note kept with the group').action(async (name: string, o: { extra?: string }) => {
    const c = await client();
    const tx = await c.groups.create(name, o.extra ? { extra: o.extra } : {});
    out().result({ ...tx, groupId: tx.groupId }, `created group ${name} (id ${tx.groupId}); name it in policies as group:${tx.groupId}`);
  });
  group.command('rm').argument('<name>').description('delete one of your groups (its policies go with it)').action(async (name: string) => {
    const c = await client();
    out().result(await c.groups.delete(name), `deleted group ${name}`);
  });
  group.command('add').argument('<name>').argument('<addresses...>').option('--until <date>', 'membership ends then (YYYY-MM-DD or ISO date-time)')
    .description('add members to one of your groups').action(async (name: string, addresses: string[], o: { until?: string }) => {
      for (const a of addresses) if (!isAddress(a)) throw new InsituError('ERR_INVALID_ARGUMENT', `"${a}" is not an account address`);
      const expiresAt = o.until ? parseTime(o.until) : undefined;
      const c = await client();
      const tx = await c.groups.add(name, addresses.map((member) => ({ member: member as `0x${string}`, ...(expiresAt ? { expiresAt } : {}) })));
      out().result(tx, `added ${addresses.length} member(s) to ${name}${o.until ? ` until ${o.until}` : ''}`);
    });
  group.command('remove').argument('<name>').argument('<addresses...>').description('remove members from one of your groups').action(async (name: string, addresses: string[]) => {
    const c = await client();
    out().result(await c.groups.remove(name, addresses as `0x${string}`[]), `removed ${addresses.length} member(s) from ${name}`);
  });
  group.command('leave').argument('<owner>', 'the group owner\'s address').argument('<name>').description('leave a group you are a member of').action(async (owner: string, name: string) => {
    const c = await client();
    out().result(await c.groups.leave(owner as `0x${string}`, name), `left ${name}`);
  });
  group.command('ls').option('--member', 'the groups you belong to, not the ones you own').action(async (o: { member?: boolean }) => {
    const c = await client();
    const list = await c.groups.list(o.member ? { member: c.address } : { owner: c.address });
    out().result(list, list.length ? table(['ID', 'NAME', 'MEMBERS', 'NOTE'], list.map((g) => [g.id, g.name, g.members.length, g.extra ?? ''])) : '(no groups)');
  });
  group.command('members').argument('<name>').description('the members of one of your groups').action(async (name: string) => {
    const c = await client();
    const g = (await c.groups.list({ owner: c.address })).find((x) => x.name === name);
    if (!g) throw new InsituError('ERR_NOT_FOUND', `you own no group ${name}`);
    out().result(g.members, g.members.length ? table(['MEMBER', 'UNTIL'], g.members.map((m) => [m.member, m.expiresAt ? formatDate(m.expiresAt) : '-'])) : '(no members)');
  });
  policy.command('ls').argument('<target>', '<bucket>[/<name>]').action(async (target: string) => {
    const t = splitTarget(target, false);
    const c = await client();
    const list = await c.policies.list(t);
    out().result(list, list.length ? list.map((p) => `${p.principal.type === 'account' ? p.principal.address : `group ${p.principal.groupId}`}${p.expiresAt ? ` (until ${new Date(p.expiresAt).toISOString()})` : ''}\n${p.statements.map((x) => `  ${formatStatement(x)}`).join('\n')}`).join('\n') : '(no policies)');
  });
}
