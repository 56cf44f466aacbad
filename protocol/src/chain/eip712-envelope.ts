// The envelope of a Greenfield transaction's EIP-712 typed data (domain, Tx, Fee, and the Msg<n>
// types of several messages), written as greenfield-js-sdk 2.2.2 writes it in its offline helpers
// (createEIP712, generateMessage, generateTypes, generateFee, mergeMultiEip712), so the typed data
// and its digest are the same. Written here rather than loaded from greenfield-js-sdk: that package
// pulls in cosmjs, axios and libsodium (about 45 MiB of memory and a second of start-up) for five
// functions that build plain objects, and every process that signs or verifies a transaction (the
// chain, each storage node, the SDK) would carry it. protocol/test/eip712-envelope.test.ts checks
// these against greenfield-js-sdk's own.

export type Field = { name: string; type: string };
export type Types = Record<string, Field[]>;

export interface Fee {
  amount: { amount: string; denom: string }[];
  gas_limit: string;
  payer: string;
  granter: string;
}

/** greenfield-js-sdk's createEIP712: the domain every Greenfield transaction is signed under. */
export function createEIP712(types: Types, chainId: string, message: Record<string, unknown>): Record<string, unknown> {
  return {
    types,
    primaryType: 'Tx',
    domain: {
      name: 'Greenfield Tx',
      version: '1.0.0',
      chainId,
      verifyingContract: '0x71e835aff094655dEF897fbc85534186DbeaB75d',
      salt: '0',
    },
    message,
  };
}

/** greenfield-js-sdk's generateMessage: `msgs` holds msg1, msg2, … (or is one message, msg1). */
export function generateMessage(accountNumber: string, sequence: string, chainId: string, memo: string, fee: Fee, msgs: Record<string, unknown>, timeoutHeight: string): Record<string, unknown> {
  const res: Record<string, unknown> = { account_number: accountNumber, chain_id: chainId, sequence, memo, fee, timeout_height: timeoutHeight };
  if (Object.keys(msgs).length === 0) return res;
  return Object.hasOwn(msgs, 'msg1') ? { ...res, ...msgs } : { ...res, msg1: msgs };
}

/** greenfield-js-sdk's generateFee. */
export function generateFee(amount: string, denom: string, gasLimit: string, payer: string, granter: string): Fee {
  return { amount: [{ amount, denom }], gas_limit: gasLimit, payer, granter };
}

/**
 * greenfield-js-sdk's generateTypes over a list of messages' types (the form insitu passes): the
 * fixed Coin, EIP712Domain, Fee and Tx types, a Tx field msg<i> of type Msg<i> per message, then
 * every type's fields sorted by name (a stable sort, as lodash's sortBy).
 */
export function generateTypes(msgTypes: Types[]): Types {
  const types: Types = {
    Coin: [{ name: 'denom', type: 'string' }, { name: 'amount', type: 'uint256' }],
    EIP712Domain: [
      { name: 'name', type: 'string' },
      { name: 'version', type: 'string' },
      { name: 'chainId', type: 'uint256' },
      { name: 'verifyingContract', type: 'string' },
      { name: 'salt', type: 'string' },
    ],
    Fee: [{ name: 'amount', type: 'Coin[]' }, { name: 'gas_limit', type: 'uint256' }, { name: 'payer', type: 'string' }, { name: 'granter', type: 'string' }],
    Tx: [
      { name: 'account_number', type: 'uint256' },
      { name: 'chain_id', type: 'uint256' },
      { name: 'fee', type: 'Fee' },
      { name: 'memo', type: 'string' },
      { name: 'sequence', type: 'uint256' },
      { name: 'timeout_height', type: 'uint256' },
    ],
  };
  for (let i = 0; i < msgTypes.length; i++) types.Tx!.push({ name: `msg${i + 1}`, type: `Msg${i + 1}` });
  Object.assign(types, ...msgTypes);
  const byName = (a: Field, b: Field): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  return Object.fromEntries(Object.entries(types).map(([k, fields]) => [k, [...fields].sort(byName)]));
}

/**
 * greenfield-js-sdk's mergeMultiEip712: the i-th message's types (each written as Msg1 and
 * TypeMsg1…) renamed to Msg<i>, by the same textual replacement over their JSON.
 */
export function mergeMultiEip712(msgTypes: Types[]): Types[] {
  return msgTypes.map((t, i) => (i === 0 ? t : JSON.parse(JSON.stringify(t).replaceAll('Msg1', `Msg${i + 1}`)) as Types));
}
