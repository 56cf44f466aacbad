// Who is asking and what the chain lets them do: every request is authenticated (GNFD1-ECDSA)
// unless it reads something public, and authorised by the chain's permission state.

import type { IncomingMessage } from 'node:http';
import { InsituError } from '@insitu/sdk/errors.ts';
import { verifyRequest, isSigned } from '@insitu/sdk/auth/index.ts';
import type { Action } from '@insitu/sdk/chain/types.ts';
import type { Hex } from '@insitu/sdk/crypto/keys.ts';
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
