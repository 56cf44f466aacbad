// The document a secondary BLS-signs to approve sealing an object (Greenfield's
// SecondarySpSealObjectSignDoc): keccak256 of its key-sorted JSON, whose checksum field is the
// SHA-256 of the seven concatenated expected checksums.

import { createHash } from 'node:crypto';
import { keccak256 } from '../crypto/keys.ts';
import type { SealSignDocInput } from './types.ts';

export function sealSignDoc(input: SealSignDocInput): Uint8Array {
  const checksum = createHash('sha256');
  for (const c of input.checksums) checksum.update(c);
  const json = JSON.stringify({
    chain_id: input.chainId,
    checksum: checksum.digest('base64'),
    global_virtual_group_id: input.gvgId,
    object_id: input.objectId.toString(),
  });
  return keccak256(new TextEncoder().encode(json));
}
