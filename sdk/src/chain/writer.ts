// Writing to the chain: a ChainClient is the reader (reader.ts) plus one call per message. Each
// call builds its message and hands it to the account's sender (sender.ts), which signs it here
// and pipelines it with the account's other transactions; seals and object creations are batched
// (seal-batch.ts).
// Calls that answer with something the chain assigned (an object, a job id) read it from the
// transaction's message responses or query it once the transaction is in a block.

import { InsituError } from '@insitu/protocol';
import { privateKeyToAddress, normalizePrivateKey, type Hex } from '@insitu/protocol';
import { msgCodec, codec, ADVANCE_TIME } from '@insitu/protocol/chain';
import type { CallOptions, ChainClient, CreateObjectInput, Principal, TxResult } from '@insitu/protocol/chain';
import { createTxSender, type SentTx } from './sender.ts';
import { createSealBatcher, createMsgBatcher } from './seal-batch.ts';
import { readerOn, guard, gnfdQuery, QUERY, visibilityCode, ACTION_CODES, type ChainReaderOptions } from './reader.ts';

/** insitu's round of small objects sealed by one aggregate. */
const SEAL_OBJECTS = '/insitu.storage.MsgSealObjects';

type Rec = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export interface ChainClientOptions extends ChainReaderOptions {
  privateKey: string;
}

/**
 * A chain client's object creation without the object read back: for a caller that needs only
 * the transaction (an upload, which goes on to send the bytes), one query fewer per object.
 */
const CREATE_OBJECT_TX = Symbol('createObjectTx');
type CreateObjectTx = (input: CreateObjectInput, o?: CallOptions) => Promise<TxResult>;

/** Creates the object on chain and answers the transaction; reads the object back only when the client is not this module's. */
export function createObjectTx(chain: ChainClient, input: CreateObjectInput, o?: CallOptions): Promise<TxResult> {
  const direct = (chain as ChainClient & { [CREATE_OBJECT_TX]?: CreateObjectTx })[CREATE_OBJECT_TX];
  return direct ? direct(input, o) : chain.createObject(input, o);
}

export async function createChainClient(opts: ChainClientOptions): Promise<ChainClient> {
  const privateKey = normalizePrivateKey(opts.privateKey);
  const address = privateKeyToAddress(privateKey);
  const reader = readerOn(opts);
  const TxMsgData = codec<{ msgResponses: { typeUrl: string; value: Uint8Array }[] }>('cosmos/base/abci/v1beta1/abci', 'TxMsgData');
  const decodeTxMsgData = (b: Uint8Array) => TxMsgData.decode(b).msgResponses ?? [];
  /** Each included tx's message responses (TxMsgData, base64), by the result its sender was given. */
  const txData = new WeakMap<TxResult, string>();
  /** Every response of type `typeUrl` of a tx this client sent, decoded. */
  const responsesOf = (tx: TxResult, typeUrl: string): Record<string, unknown>[] => {
    const data = txData.get(tx);
    const codec = msgCodec(typeUrl);
    if (!data || !codec) throw new InsituError('ERR_INTERNAL', `transaction ${tx.txHash} carries no ${typeUrl}`);
    return decodeTxMsgData(Buffer.from(data, 'base64')).filter((m) => m.typeUrl === typeUrl).map((m) => codec.decode(m.value) as Record<string, unknown>);
  };
  /** The first message response of a tx this client sent, decoded. */
  const responseOf = (tx: TxResult, typeUrl: string): Record<string, unknown> => {
    const [first] = responsesOf(tx, typeUrl);
    if (!first) throw new InsituError('ERR_INTERNAL', `transaction ${tx.txHash} carries no ${typeUrl}`);
    return first;
  };
  // Transactions are signed here and pipelined per account (sender.ts); seals are batched.
  const sender = createTxSender({
    rpcUrl: opts.rpcUrl, chainId: opts.chainId, privateKey,
    ...(opts.txTimeoutMs !== undefined ? { txTimeoutMs: opts.txTimeoutMs } : {}),
    account: async () => {
      const a = await reader.getAccount(address);
      return { accountNumber: a.accountNumber, sequence: a.nonce };
    },
  });
  const keep = (tx: SentTx): TxResult => {
    const result = { txHash: tx.txHash, height: tx.height };
    if (tx.data) txData.set(result, tx.data);
    return result;
  };
  const send = (typeUrl: string, msg: Record<string, unknown>, o?: CallOptions): Promise<TxResult> =>
    guard(o, async () => keep(await sender.send([{ typeUrl, value: msg }], o)), 'ERR_TX_FAILED');
  const batchSeal = createSealBatcher(sender);
  const batchCreate = createMsgBatcher(sender);
  /** MsgCreateObject, batched with the account's other creations waiting for their turn. */
  const createTx: CreateObjectTx = (input, o) => guard(o, async () => keep(await batchCreate({ typeUrl: '/greenfield.storage.MsgCreateObject', value: {
    creator: address, bucketName: input.bucket, objectName: input.name, payloadSize: input.payloadSize.toString(),
    visibility: visibilityCode(input.visibility ?? 'inherit'), contentType: input.contentType ?? 'application/octet-stream',
    primarySpApproval: { expiredHeight: '0', globalVirtualGroupFamilyId: 0, sig: new Uint8Array() },
    expectChecksums: input.checksums, redundancyType: 0,
  } }, o)), 'ERR_TX_FAILED');

  const principalOf = (p: Principal): { type: number; value: string } =>
    p.type === 'account' ? { type: 1, value: p.address } : { type: 2, value: p.groupId.toString() };
  const grn = (bucket: string, object?: string): string => (object ? `grn:o::${bucket}/${object}` : `grn:b::${bucket}`);

  const client: ChainClient = {
    ...reader,
    address,

    async advanceTime(seconds, o) {
      if (!Number.isInteger(seconds) || seconds <= 0) throw new InsituError('ERR_INVALID_ARGUMENT', `time moves forward by a positive whole number of seconds, not ${seconds}`);
      const tx = await send(ADVANCE_TIME, { authority: address, seconds: BigInt(seconds) }, o);
      return Number(BigInt(String(responseOf(tx, `${ADVANCE_TIME}Response`).time))) * 1000;
    },

    async createBucket(input, o) {
      const spAddress = input.primarySp ?? (await reader.listStorageProviders(o)).find((p) => p.status === 'in-service')?.operatorAddress;
      if (!spAddress) throw new InsituError('ERR_PROVIDER_NOT_FOUND', 'no storage provider in service');
      const sp = await reader.getStorageProvider(spAddress, o);
      const family: Rec = await guard(o, () => gnfdQuery(opts.rpcUrl, QUERY.optimalFamily, { spId: sp.id, pickVgfStrategy: 1 }, o?.signal));
      const tx = await send('/greenfield.storage.MsgCreateBucket', {
        creator: address, bucketName: input.name, visibility: visibilityCode(input.visibility ?? 'private'),
        paymentAddress: input.paymentAddress ?? address, primarySpAddress: sp.operatorAddress,
        primarySpApproval: { expiredHeight: '0', globalVirtualGroupFamilyId: family.globalVirtualGroupFamilyId, sig: new Uint8Array() },
        chargedReadQuota: (input.chargedReadQuota ?? 0n).toString(),
      }, o);
      return { ...tx, bucket: await reader.headBucket(input.name, o) };
    },

    deleteBucket: (name, o) => send('/greenfield.storage.MsgDeleteBucket', { operator: address, bucketName: name }, o),

    updateBucket: (name, input, o) => send('/greenfield.storage.MsgUpdateBucketInfo', {
      operator: address, bucketName: name, visibility: input.visibility ? visibilityCode(input.visibility) : 0,
      paymentAddress: input.paymentAddress ?? '',
      ...(input.chargedReadQuota !== undefined ? { chargedReadQuota: { value: input.chargedReadQuota.toString() } } : {}),
    }, o),

    updateObject: (bucket, name, input, o) => send('/greenfield.storage.MsgUpdateObjectInfo', {
      operator: address, bucketName: bucket, objectName: name, visibility: visibilityCode(input.visibility),
    }, o),

    async createObject(input, o) {
      const tx = await createTx(input, o);
      return { ...tx, object: await reader.headObject(input.bucket, input.name, o) };
    },

    cancelCreateObject: (bucket, name, o) => send('/greenfield.storage.MsgCancelCreateObject', { operator: address, bucketName: bucket, objectName: name }, o),
    deleteObject: (bucket, name, o) => send('/greenfield.storage.MsgDeleteObject', { operator: address, bucketName: bucket, objectName: name }, o),

    sealObject: (input, o) => guard(o, async () => keep(await batchSeal({ typeUrl: '/greenfield.storage.MsgSealObject', value: {
      operator: address, bucketName: input.bucket, objectName: input.name, globalVirtualGroupId: input.gvgId,
      secondarySpBlsAggSignatures: input.blsSignature,
    } }, o)), 'ERR_TX_FAILED'),

    /**
     * insitu's MsgSealObjects, batched with the account's other seals waiting for their turn. The
     * objects skipped are read from the transaction's responses: every MsgSealObjects response it
     * carries (one per round batched into it; an object is in one round only).
     */
    sealObjects: (input, o) => guard(o, async () => {
      const tx = keep(await batchSeal({ typeUrl: SEAL_OBJECTS, value: {
        operator: address, globalVirtualGroupId: input.gvgId, objectIds: input.objects.map((x) => x.objectId.toString()),
        checksumsHashes: input.objects.map((x) => Buffer.from(x.checksumsHash).toString('hex')), secondarySpBlsAggSignatures: input.blsSignature,
      } }, o));
      if (!txData.has(tx)) {
        // No responses to read (a chain that returns no result data): the objects' state says.
        const heads = await Promise.all(input.objects.map((x) => reader.headObjectById(x.objectId, o).catch(() => undefined)));
        return { ...tx, skipped: input.objects.filter((_, i) => heads[i]?.status !== 'sealed').map((x) => x.objectId) };
      }
      const skipped = new Set(responsesOf(tx, `${SEAL_OBJECTS}Response`).flatMap((r) => (r.skipped as string[] | undefined) ?? []));
      return { ...tx, skipped: input.objects.map((x) => x.objectId).filter((id) => skipped.has(id.toString())) };
    }, 'ERR_TX_FAILED'),

    rejectSealObject: (bucket, name, o) => send('/greenfield.storage.MsgRejectSealObject', { operator: address, bucketName: bucket, objectName: name }, o),

    async putPolicy(input, o) {
      const tx = await send('/greenfield.storage.MsgPutPolicy', {
        operator: address,
        principal: principalOf(input.principal),
        resource: grn(input.bucket, input.object),
        statements: input.statements.map((s) => ({
          effect: s.effect === 'deny' ? 2 : 1,
          actions: s.actions.map((a) => ACTION_CODES[a]),
          resources: s.resources ?? [],
          ...(s.expiresAt ? { expirationTime: { seconds: Math.floor(s.expiresAt / 1000).toString(), nanos: 0 } } : {}),
        })),
        ...(input.expiresAt ? { expirationTime: { seconds: Math.floor(input.expiresAt / 1000).toString(), nanos: 0 } } : {}),
      }, o);
      const policies = await reader.listPolicies(input.bucket, input.object, o);
      const mine = policies.find((p) => JSON.stringify(principalOf(p.principal)).toLowerCase() === JSON.stringify(principalOf(input.principal)).toLowerCase());
      return { ...tx, policyId: mine?.id ?? 0n };
    },

    deletePolicy: (input, o) => send('/greenfield.storage.MsgDeletePolicy', {
      operator: address, principal: principalOf(input.principal), resource: grn(input.bucket, input.object),
    }, o),

    transfer: (to, amount, o) => send('/cosmos.bank.v1beta1.MsgSend', {
      fromAddress: address, toAddress: to, amount: [{ denom: 'BNB', amount: amount.toString() }],
    }, o),

    async registerProvider(input, o) {
      const tx = await send('/greenfield.sp.MsgCreateStorageProvider', {
        creator: address,
        description: { moniker: input.moniker, identity: '', website: '', securityContact: '', details: `computePrice=${input.computePrice}` },
        spAddress: address, fundingAddress: input.fundingAddress, sealAddress: input.sealAddress, approvalAddress: input.approvalAddress,
        gcAddress: input.gcAddress, maintenanceAddress: address, endpoint: input.endpoint,
        deposit: { denom: 'BNB', amount: input.deposit.toString() },
        readPrice: input.readPrice.toString(), freeReadQuota: '0', storePrice: input.storePrice.toString(),
        blsKey: Buffer.from(input.blsKey).toString('hex'), blsProof: Buffer.from(input.blsProof).toString('hex'),
      }, o);
      return { ...tx, provider: await reader.getStorageProvider(address, o) };
    },

    async submitJob(input, o) {
      const tx = await send('/insitu.compute.MsgSubmitJob', {
        creator: address, bucketName: input.bucket, objectName: input.object, moduleBucket: input.moduleBucket,
        moduleObject: input.moduleObject, moduleHash: input.moduleHash, args: input.args ?? [], maxFee: input.maxFee.toString(),
        fuelLimit: input.fuelLimit.toString(), executorSpId: input.executorSpId ?? 0, sideInputs: input.sideInputs ?? [],
        env: input.env ?? [], mode: input.mode ?? '', pieceIndex: input.pieceIndex ?? 0, mapJobs: (input.mapJobs ?? []).map(String),
        memoryMib: input.memoryMiB ?? 0, maxOutputBytes: String(input.maxOutputBytes ?? 0), offerId: String(input.offerId ?? 0),
        maxComputePrice: input.maxComputePrice !== undefined ? input.maxComputePrice.toString() : '', executorChoice: input.cheapest ? 'cheapest' : '',
        runId: String(input.runId ?? 0),
      }, o);
      return { ...tx, jobId: BigInt(String(responseOf(tx, '/insitu.compute.MsgSubmitJobResponse').jobId)) };
    },

    settleJob: (input, o) => send('/insitu.compute.MsgSettleJob', {
      operator: address, jobId: input.jobId.toString(), receipt: input.receipt, receiptSignature: input.receiptSignature,
    }, o),
    ackJob: (jobId, o) => send('/insitu.compute.MsgAckJob', { operator: address, jobId: jobId.toString() }, o),
    disputeJob: (jobId, o) => send('/insitu.compute.MsgDisputeJob', { disputer: address, jobId: jobId.toString() }, o),
    verifyJob: (input, o) => send('/insitu.compute.MsgVerifyJob', {
      operator: address, jobId: input.jobId.toString(), receipt: input.receipt, receiptSignature: input.receiptSignature,
    }, o),

    cancelJob: (jobId, o) => send('/insitu.compute.MsgCancelJob', { creator: address, jobId: jobId.toString() }, o),
    async reassignJob(input, o) {
      const tx = await send('/insitu.compute.MsgReassignJob', {
        creator: address, jobId: input.jobId.toString(), executorSpId: input.executorSpId ?? 0,
        maxComputePrice: input.maxComputePrice !== undefined ? input.maxComputePrice.toString() : '',
      }, o);
      const r = responseOf(tx, '/insitu.compute.MsgReassignJobResponse');
      return { ...tx, executorSpId: Number(r.executorSpId), computePrice: BigInt(String(r.computePrice || '0')) };
    },
    async openRun(input, o) {
      const tx = await send('/insitu.compute.MsgOpenRun', {
        creator: address, bucketName: input.bucket, prefix: input.prefix, moduleHash: input.moduleHash, reduceModuleHash: input.reduceModuleHash ?? '',
        mapFee: input.mapFee.toString(), reduceFee: (input.reduceFee ?? 0n).toString(), spareMaps: input.spareMaps ?? 0, offerId: String(input.offerId ?? 0),
      }, o);
      const r = responseOf(tx, '/insitu.compute.MsgOpenRunResponse');
      return { ...tx, runId: BigInt(String(r.runId)), escrowed: BigInt(String(r.escrowed || '0')) };
    },
    fundRun: (runId, amount, o) => send('/insitu.compute.MsgFundRun', { creator: address, runId: runId.toString(), amount: amount.toString() }, o),
    async closeRun(runId, o) {
      const tx = await send('/insitu.compute.MsgCloseRun', { creator: address, runId: runId.toString() }, o);
      return { ...tx, refund: BigInt(String(responseOf(tx, '/insitu.compute.MsgCloseRunResponse').refund || '0')) };
    },
    recordJobOutput: (input, o) => send('/insitu.compute.MsgRecordOutput', { creator: address, jobId: input.jobId.toString(), bucketName: input.bucket, objectName: input.object }, o),
    async createOffer(input, o) {
      const tx = await send('/insitu.compute.MsgCreateOffer', {
        owner: address, bucketName: input.bucket, prefix: input.prefix ?? '', audience: input.audience, buyers: input.buyers ?? [],
        groupId: String(input.groupId ?? 0), modules: input.modules ?? [], pricePerJob: String(input.pricePerJob ?? 0n),
        pricePerGib: String(input.pricePerGiB ?? 0n), maxOutputBytes: String(input.maxOutputBytes), expiresAt: String(input.expiresAt ?? 0),
      }, o);
      return { ...tx, offerId: BigInt(String(responseOf(tx, '/insitu.compute.MsgCreateOfferResponse').offerId)) };
    },
    setComputePrice: (price, o) => send('/insitu.compute.MsgSetComputePrice', { operator: address, computePrice: price.toString() }, o),
    removeOffer: (offerId, o) => send('/insitu.compute.MsgRemoveOffer', { owner: address, offerId: offerId.toString() }, o),

    async createPaymentAccount(o) {
      const list = async (): Promise<string[]> => (await reader.paymentView(address, o)).paymentAccounts!.map((p) => p.address);
      const before = new Set(await list());
      const tx = await send('/greenfield.payment.MsgCreatePaymentAccount', { creator: address }, o);
      // Greenfield's response carries no address: the new one is the account not there before.
      const added = (await list()).find((a) => !before.has(a));
      if (!added) throw new InsituError('ERR_INTERNAL', `transaction ${tx.txHash} created no payment account`);
      return { ...tx, address: added as Hex };
    },
    settleIncome: (input, o) => send('/greenfield.virtualgroup.MsgSettle', { storageProvider: address, globalVirtualGroupFamilyId: input.familyId ?? 0, globalVirtualGroupIds: input.gvgIds ?? [] }, o),
    deposit: (to, amount, o) => send('/greenfield.payment.MsgDeposit', { creator: address, to, amount: amount.toString() }, o),
    withdraw: (from, amount, o) => send('/greenfield.payment.MsgWithdraw', { creator: address, from, amount: amount.toString() }, o),
    disableRefund: (addr, o) => send('/greenfield.payment.MsgDisableRefund', { owner: address, addr }, o),

    async createGroup(name, o) {
      const tx = await send('/greenfield.storage.MsgCreateGroup', { creator: address, groupName: name, extra: o?.extra ?? '' }, o);
      return { ...tx, groupId: BigInt(String(responseOf(tx, '/greenfield.storage.MsgCreateGroupResponse').groupId)) };
    },
    deleteGroup: (name, o) => send('/greenfield.storage.MsgDeleteGroup', { operator: address, groupName: name }, o),
    updateGroupMembers: (name, change, o) => send('/greenfield.storage.MsgUpdateGroupMember', {
      operator: address, groupOwner: address, groupName: name,
      membersToAdd: (change.add ?? []).map((m) => ({ member: m.member, ...(m.expiresAt ? { expirationTime: { seconds: Math.floor(m.expiresAt / 1000).toString(), nanos: 0 } } : {}) })),
      membersToDelete: change.remove ?? [],
    }, o),
    leaveGroup: (owner, name, o) => send('/greenfield.storage.MsgLeaveGroup', { member: address, groupOwner: owner, groupName: name }, o),

    storageProviderExit: (o) => send('/greenfield.virtualgroup.MsgStorageProviderExit', { storageProvider: address }, o),
    reportProviderDown: (spId, o) => send('/insitu.virtualgroup.MsgReportProviderDown', { reporter: address, spId }, o),
    withdrawDownReports: (o) => send('/insitu.virtualgroup.MsgWithdrawDownReports', { reporter: address }, o),
    reserveSwapIn: (input, o) => send('/greenfield.virtualgroup.MsgReserveSwapIn', {
      storageProvider: address, targetSpId: input.targetSpId, globalVirtualGroupFamilyId: input.familyId ?? 0, globalVirtualGroupId: input.gvgId ?? 0,
    }, o),
    completeSwapIn: (input, o) => send('/greenfield.virtualgroup.MsgCompleteSwapIn', {
      storageProvider: address, globalVirtualGroupFamilyId: input.familyId ?? 0, globalVirtualGroupId: input.gvgId ?? 0,
    }, o),
    admitProvider: (spId, o) => send('/insitu.sp.MsgAdmitStorageProvider', { authority: address, spId }, o),
    forceProviderExit: (operator, o) => send('/greenfield.virtualgroup.MsgStorageProviderForcedExit', { authority: address, storageProvider: operator }, o),
    completeProviderExit: (o) => send('/greenfield.virtualgroup.MsgCompleteStorageProviderExit', { storageProvider: address, operator: address }, o),
    async submitChallenge(input, o) {
      const tx = await send('/greenfield.challenge.MsgSubmit', {
        challenger: address, spOperatorAddress: input.provider, bucketName: input.bucket, objectName: input.object,
        segmentIndex: input.segment ?? 0, randomIndex: input.segment === undefined ? 1 : 0,
      }, o);
      return { ...tx, challengeId: Number(String(responseOf(tx, '/greenfield.challenge.MsgSubmitResponse').challengeId)) };
    },
    attestChallenge: (input, o) => send('/greenfield.challenge.MsgAttest', {
      submitter: address, challengeId: input.challengeId.toString(), voteResult: input.passed ? 1 : 0, challengerAddress: address,
    }, o),

    createGlobalVirtualGroup: (input, o) => send('/greenfield.virtualgroup.MsgCreateGlobalVirtualGroup', {
      storageProvider: address, familyId: input.familyId ?? 0, secondarySpIds: input.secondarySpIds,
      deposit: { denom: 'BNB', amount: (input.deposit ?? 0n).toString() },
    }, o),
  };
  Object.defineProperty(client, CREATE_OBJECT_TX, { value: createTx });
  return client;
}
