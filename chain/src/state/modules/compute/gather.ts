// A dataset's reduce ('gather' mode): one job over the outputs of the submitter's own settled,
// successful whole-object jobs or parallel jobs' reduces (the maps of a dataset run, one per
// object), concatenated in the order named. It reads no object itself — the maps were each permitted (and paid, under an
// offer) over their inputs — so it needs no permission beyond theirs; it is recorded against the
// first map's input, and its output is capped by the smallest of the maps' caps.

import { sameAddress } from '@insitu/protocol';
import { fail } from '../../context.ts';
import type { KV } from '../../store.ts';
import { getJob } from './records.ts';

export const MAX_GATHER_MAPS = 1000;

/** Checks the maps of a gather job and returns the smallest of their output caps. */
export async function gatherCap(kv: KV, signer: string, inputId: bigint, mapJobs: bigint[]): Promise<bigint> {
  if (mapJobs.length === 0 || mapJobs.length > MAX_GATHER_MAPS) fail('ERR_INVALID_ARGUMENT', `a dataset reduce names 1..${MAX_GATHER_MAPS} map jobs`);
  if (new Set(mapJobs.map(String)).size !== mapJobs.length) fail('ERR_INVALID_ARGUMENT', 'a dataset reduce names each map job once');
  let cap: bigint | null = null;
  for (const [i, id] of mapJobs.entries()) {
    const m = await getJob(kv, id);
    // A whole-object job, or the reduce of a parallel one (the whole object's result too).
    if (!m || (m.mode !== '' && m.mode !== 'reduce') || !sameAddress(m.creator, signer)) return fail('ERR_INVALID_ARGUMENT', `job ${id} is not a whole-object job of this submitter`);
    if (m.status !== 'settled' || m.exitState !== 'succeeded') fail('ERR_INVALID_ARGUMENT', `map job ${id} has not succeeded (${m.status}${m.exitState ? `, ${m.exitState}` : ''})`);
    if (i === 0 && m.objectId !== inputId) fail('ERR_INVALID_ARGUMENT', `a dataset reduce is recorded against its first map's input, not object ${inputId}`);
    if (cap === null || m.outputCap < cap) cap = m.outputCap;
  }
  return cap!;
}
