// A provider's operator key is not a master key: a node serves object bytes to another provider
// only for the role the chain gives that provider over that object — a member of the object's
// group (rebuilding its piece or the primary's copy), the successor holding a reserved swap-in of
// that group or family, the executor (or a verifier) of a job over that object, or a challenger
// the chain named for a challenge of this node over that piece. Anything else is checked like
// anyone's request. Role reads are not the bucket's reads: they do not count against its quota.

import type { IncomingMessage } from 'node:http';
import type { Hex } from '@insitu/protocol';
import type { ObjectInfo } from '@insitu/protocol/chain';
import type { NodeContext } from '../context.ts';

export type ProviderRole = 'group-member' | 'successor' | 'job-executor' | 'challenger';

const header = (req: IncomingMessage, name: string): string | undefined => {
  const v = req.headers[name];
  return typeof v === 'string' && v !== '' ? v : undefined;
};

/**
 * The chain role that lets `signer` read index `index` (-1: the whole object) of `obj` from this
 * node, or null. `obj` may be a thunk so that a request from a non-provider costs no lookup.
 */
export async function providerRole(ctx: NodeContext, req: IncomingMessage, signer: Hex | null, obj: ObjectInfo | (() => Promise<ObjectInfo>), index: number): Promise<ProviderRole | null> {
  if (!signer) return null;
  const sp = await ctx.providerByOperator(signer);
  if (!sp) return null;
  const o = typeof obj === 'function' ? await obj() : obj;

  const challengeId = header(req, 'x-insitu-challenge-id');
  if (challengeId !== undefined && /^\d{1,12}$/.test(challengeId)) {
    const c = await ctx.chain.challenge(Number(challengeId)).catch(() => undefined);
    if (c && c.status === 'open' && c.spId === ctx.spId && c.challengers.includes(sp.id) && c.objectId === o.id && c.redundancyIndex === index) return 'challenger';
    return null;
  }

  const jobId = header(req, 'x-insitu-job-id');
  if (jobId !== undefined && /^\d{1,20}$/.test(jobId)) {
    const job = await ctx.chain.getJob(BigInt(jobId)).catch(() => undefined);
    if (!job) return null;
    // The verifiers the chain chose for an open dispute re-run the job (compute/dispute.ts).
    const verifiers = job.dispute?.outcome === 'open' ? job.dispute.verifiers : [];
    const live = job.status === 'submitted' || job.status === 'running';
    const runs = (job.executorSpId === sp.id && live) || verifiers.includes(sp.id);
    const name = `${o.bucketName}/${o.objectName}`;
    const reads = job.objectId === o.id || `${job.moduleBucket}/${job.moduleObject}` === name || (job.sideInputs ?? []).includes(name);
    return runs && reads ? 'job-executor' : null;
  }

  const g = await ctx.chain.getGlobalVirtualGroup(o.gvgId).catch(() => undefined);
  if (!g) return null;
  if (g.primarySpId === sp.id || g.secondarySpIds.includes(sp.id)) return 'group-member';
  const swaps = await ctx.chain.swapIns().catch(() => []);
  if (swaps.some((s) => s.successorSpId === sp.id && (s.gvgId === g.id || (s.familyId !== 0 && s.familyId === g.familyId)))) return 'successor';
  return null;
}
