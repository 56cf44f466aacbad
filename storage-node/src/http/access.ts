// Who is asking and what the chain lets them do: every request is authenticated (GNFD1-ECDSA)
// unless it reads something public, and authorised by the chain's permission state.

import type { IncomingMessage } from 'node:http';
import { InsituError } from '@insitu/protocol';
import { verifyRequest, isSigned } from '@insitu/protocol/auth';
import type { Action } from '@insitu/protocol/chain';
import type { Hex } from '@insitu/protocol';
import type { NodeContext } from '../context.ts';

export function signerOf(req: IncomingMessage, required: boolean): Hex | null {
  if (!isSigned(req.headers) && !required) return null;
  return verifyRequest({ method: req.method ?? 'GET', target: req.url ?? '/', headers: req.headers });
}

export async function authorize(ctx: NodeContext, signer: Hex | null, bucket: string, object: string | undefined, action: Action): Promise<void> {
  const effect = await ctx.chain.verifyPermission({ operator: signer, bucket, ...(object !== undefined ? { object } : {}), action });
  if (effect === 'allow') return;
  if (!signer) throw new InsituError('ERR_UNAUTHENTICATED', `${bucket}${object ? `/${object}` : ''} is not public: sign the request`);
  throw new InsituError('ERR_PERMISSION_DENIED', `${signer} may not ${action} on ${bucket}${object ? `/${object}` : ''}`);
}

/** The host name a request was sent to, from its Host header (no port, lower case). */
export function requestHost(req: IncomingMessage): string {
  const h = String(req.headers.host ?? '').trim().toLowerCase();
  return h.startsWith('[') ? h.slice(0, h.indexOf(']') + 1) : h.split(':')[0]!;
}

/**
 * A GNFD1-ECDSA signature covers the host name (without port), so a signed request is only good
 * for the node it was signed for: this node's registered host, or {bucket}.{host} in the
 * virtual-host style. Anything else is a request replayed from another node.
 */
export function checkSignedHost(ctx: Pick<NodeContext, 'baseHost'>, req: IncomingMessage): void {
  if (!isSigned(req.headers)) return;
  const host = requestHost(req);
  const base = ctx.baseHost.toLowerCase();
  if (host === base) return;
  if (host.endsWith(`.${base}`) && !/^\d+\.\d+\.\d+\.\d+$|^\[/.test(base) && /^[a-z0-9-]+$/.test(host.slice(0, -base.length - 1))) return;
  throw new InsituError('ERR_WRONG_HOST', `this request was signed for host "${host.slice(0, 100)}", not for this node (${base} or {bucket}.${base})`);
}
