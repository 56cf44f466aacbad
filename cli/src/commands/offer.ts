// insitu offer create|ls|rm: data owners selling compute over their data (buyers run approved
// modules over it and pay, without reading it); buyers browse with ls --all.

import { Command } from 'commander';
import { InsituError } from '@insitu/protocol';
import type { Hex, OfferInfo } from '@insitu/sdk';
import type { CommandContext } from './context.ts';
import { collect, parseWhole } from '../parse.ts';
import { formatBytes, formatDate, table } from '../format.ts';

/** "30d", "12h", "90m" or an ISO date → chain time (ms). */
function expiry(v: string, now: number): number {
  const rel = /^(\d{1,6})([dhm])$/.exec(v);
  if (rel) return now + Number(rel[1]) * { d: 86_400_000, h: 3_600_000, m: 60_000 }[rel[2] as 'd' | 'h' | 'm'];
  const at = Date.parse(v);
  if (!Number.isFinite(at)) throw new InsituError('ERR_INVALID_ARGUMENT', `--expires takes 30d, 12h, 90m or a date, not "${v}"`);
  return at;
}

/** Who may buy under an offer, as one cell. */
const audience = (x: OfferInfo): string => (x.audience === 'anyone' ? 'anyone' : x.audience === 'group' ? `group ${x.groupId}` : x.buyers.join(','));

export function offerCommand({ client, out, bnb }: CommandContext): Command {
  const offer = new Command('offer').description('sell compute over your data: buyers run approved modules over it and pay you, without reading it');

  offer.command('create').argument('<target>', '<bucket>, <bucket>/<prefix>/ or <bucket>/<object>')
    .description('offer compute over a bucket, prefix or object (the offer is the buyers\' permission: no get, only the modules and output you allow)')
    .requiredOption('--max-output <bytes>', 'most output one job may return')
    .option('--price-per-job <amount>', 'paid to you per job, base units', '0')
    .option('--price-per-gib <amount>', 'paid to you per GiB of input a job runs over, base units', '0')
    .option('--module <sha256>', 'a module hash buyers may run (repeatable; none: any module)', collect, [])
    .option('--buyer <address>', 'an account that may buy (repeatable; none: anyone)', collect, [])
    .option('--group <id>', 'the members of this group may buy')
    .option('--expires <when>', '30d, 12h, 90m or a date (default: never)')
    .action(async (target: string, o: { maxOutput: string; pricePerJob: string; pricePerGib: string; module: string[]; buyer: string[]; group?: string; expires?: string }) => {
      if (o.group !== undefined && o.buyer.length) throw new InsituError('ERR_INVALID_ARGUMENT', 'an offer is to listed buyers or to a group, not both');
      const modules = o.module.map((m) => m.toLowerCase());
      if (modules.some((m) => !/^[0-9a-f]{64}$/.test(m))) throw new InsituError('ERR_INVALID_ARGUMENT', '--module takes a module\'s SHA-256 (64 hex digits); sha256sum job.wasm prints it');
      const c = await client();
      const r = await c.offers.create(target, {
        maxOutputBytes: parseWhole(o.maxOutput, '--max-output'), pricePerJob: parseWhole(o.pricePerJob, '--price-per-job'), pricePerGiB: parseWhole(o.pricePerGib, '--price-per-gib'), modules,
        ...(o.group !== undefined ? { buyers: { groupId: parseWhole(o.group, '--group') } } : o.buyer.length ? { buyers: o.buyer as Hex[] } : {}),
        ...(o.expires ? { expiresAt: expiry(o.expires, Date.now()) } : {}),
      });
      out().result({ offerId: r.offerId, txHash: r.txHash }, `offer ${r.offerId} on ${target}${modules.length ? '' : ' (any module: whatever a module computes up to the output cap can leave; list modules to restrict it)'}`);
    });

  offer.command('ls').description('your offers in force; --all: everything on offer').option('--all', 'every owner\'s offers').option('--bucket <bucket>', 'only over this bucket')
    .action(async (o: { all?: boolean; bucket?: string }) => {
      const c = await client();
      const list = await c.offers.list({ ...(o.all ? { all: true } : {}), ...(o.bucket ? { bucket: o.bucket } : {}) });
      out().result(list, list.length
        ? table(['ID', 'OVER', 'BUYERS', 'MODULES', 'PER JOB', 'PER GIB', 'MAX OUTPUT', 'EXPIRES', 'OWNER'], list.map((x) => [
          x.id, `${x.bucket}/${x.prefix}`, audience(x), x.modules.length ? x.modules.map((m) => m.slice(0, 12)).join(',') : 'any',
          bnb(x.pricePerJob), bnb(x.pricePerGiB), formatBytes(x.maxOutputBytes), x.expiresAt ? formatDate(x.expiresAt) : 'never', x.owner,
        ]), { right: [0] })
        : '(no offers)');
    });

  offer.command('rm').argument('<id>').description('withdraw one of your offers (jobs already submitted keep its terms)').action(async (id: string) => {
    const c = await client();
    const tx = await c.offers.remove(parseWhole(id, 'offer id'));
    out().result(tx, `offer ${id} withdrawn`);
  });
  return offer;
}
