// Greenfield's chain ids: the cosmos form (name_<evm id>-<version>) and the numeric EIP-155 id
// that typed data is signed under, as greenfield-js-sdk takes it. insitu speaks Greenfield's wire
// protocol with its own codecs (reader.ts, sender.ts), so no greenfield-js-sdk is loaded at run
// time; the interop tests run the unmodified package against the chain and nodes.

/** greenfield-js-sdk takes the numeric EIP-155 chain id; accept the cosmos form too. */
export function sdkChainId(chainId: string): string {
  if (/^\d+$/.test(chainId)) return chainId;
  const m = /_(\d+)-\d+$/.exec(chainId);
  if (!m) throw new TypeError(`chain id "${chainId}" is neither numeric nor of the form name_<number>-<version>`);
  return m[1]!;
}
