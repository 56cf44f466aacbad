// The ChainClient interface: everything the SDK, the storage nodes and the CLI ask of the chain.
// The implementation speaks Greenfield's wire protocol through greenfield-js-sdk, so the same
// code can point at the embedded devnet or at a Greenfield network.

import type { Hex } from '../crypto/keys.ts';
import type { AccountabilityParams, ChallengeInfo, ProviderAddresses } from './records.ts';

export interface CallOptions {
  signal?: AbortSignal;
}

export type Visibility = 'public-read' | 'private' | 'inherit';

/** Greenfield's ActionType, by name. */
export type Action =
  | 'update-bucket' | 'delete-bucket' | 'create-object' | 'delete-object' | 'copy-object'
  | 'get-object' | 'execute-object' | 'list-object' | 'update-object' | 'update-group'
  | 'delete-group' | 'all';

export type Effect = 'allow' | 'deny';

export interface Account {
  address: Hex;
  /** Spendable balance in the base denomination (wei-like units of BNB). */
  balance: bigint;
  /** Next transaction sequence number. */
  nonce: bigint;
  accountNumber: bigint;
}

export interface StorageParams {
  maxSegmentSize: number;
  dataChunks: number;
  parityChunks: number;
  maxPayloadSize: bigint;
  minChargeSize: bigint;
}

export type ProviderStatus = 'in-service' | 'in-jailed' | 'graceful-exiting' | 'in-maintenance' | 'force-exiting';

export interface StorageProvider extends ProviderAddresses {
  id: number;
  blsKey: Uint8Array;
  endpoint: string;
  status: ProviderStatus;
  moniker: string;
  /** Prices as registered (base units): per byte per second of storage, per byte of read quota,
   *  and per unit of fuel for jobs. */
  storePrice: bigint;
  readPrice: bigint;
  computePrice: bigint;
  /** Base units held as its deposit (what a slash takes from); 0 on a network that does not say. */
  deposit?: bigint;
  /** Admitted by the admin/governance account; a provider that only registered waits in maintenance. */
  admitted?: boolean;
}

export interface GlobalVirtualGroup {
  id: number;
  familyId: number;
  primarySpId: number;
  /** secondarySpIds[i] holds piece i of every segment. */
  secondarySpIds: number[];
}

export interface BucketInfo {
  id: bigint;
  name: string;
  owner: Hex;
  visibility: Visibility;
  createdAt: number;
  paymentAddress: Hex;
  primarySpId: number;
  familyId: number;
  chargedReadQuota: bigint;
  status: 'created' | 'discontinued' | 'migrating';
}

export type ObjectStatus = 'created' | 'sealed' | 'discontinued';

export interface ObjectInfo {
  id: bigint;
  bucketName: string;
  objectName: string;
  owner: Hex;
  creator: Hex;
  payloadSize: bigint;
  visibility: Visibility;
  contentType: string;
  createdAt: number;
  status: ObjectStatus;
  redundancy: 'ec' | 'replica';
  /** Seven SHA-256 checksums: [object, piece 0 … piece 5]. */
  checksums: Uint8Array[];
  /** Global virtual group holding the pieces (known once sealed; before that, the bucket family's choice). */
  gvgId: number;
  /** Local virtual group id inside the bucket (Greenfield's object → LVG → GVG mapping). */
  lvgId: number;
  updatedAt: number;
}

export type Principal = { type: 'account'; address: Hex } | { type: 'group'; groupId: bigint };

export interface Statement {
  effect: Effect;
  actions: Action[];
  /** GRN-style resources; empty means the policy's own resource. */
  resources?: string[];
  expiresAt?: number;
  limitSize?: bigint;
}

export interface GroupInfo {
  id: bigint;
  owner: Hex;
  name: string;
  extra: string;
  members: { member: Hex; expiresAt: number | null }[];
}

export interface PolicyInput {
  principal: Principal;
  bucket: string;
  object?: string;
  statements: Statement[];
  expiresAt?: number;
}

export interface Policy extends PolicyInput {
  id: bigint;
}

export interface TxResult {
  txHash: Hex;
  height: bigint;
}

export type ChainEventType =
  | 'bucket-created' | 'bucket-deleted' | 'bucket-updated'
  | 'object-created' | 'object-sealed' | 'object-cancelled' | 'object-rejected' | 'object-deleted'
  | 'policy-put' | 'policy-deleted' | 'provider-created' | 'provider-updated' | 'gvg-created' | 'transfer';

/** One entry of the chain's ordered event feed; nodes resume from `seq` after a restart. */
export interface ChainEvent {
  seq: bigint;
  height: bigint;
  type: ChainEventType;
  txHash: Hex | null;
  bucketName?: string;
  objectName?: string;
  objectId?: bigint;
  gvgId?: number;
  spId?: number;
  attributes: Record<string, string>;
}

export interface CreateBucketInput {
  name: string;
  visibility?: Visibility;
  /** Primary storage provider (operator address); default: the chain's optimal choice. */
  primarySp?: Hex;
  paymentAddress?: Hex;
  chargedReadQuota?: bigint;
}

export interface CreateObjectInput {
  bucket: string;
  name: string;
  payloadSize: bigint;
  checksums: Uint8Array[];
  visibility?: Visibility;
  contentType?: string;
}

export interface SealObjectInput {
  bucket: string;
  name: string;
  gvgId: number;
  /** Aggregated BLS signature of the six secondaries over the seal sign doc. */
  blsSignature: Uint8Array;
}

/** A round of small objects of one group sealed by one aggregate (insitu's MsgSealObjects). */
export interface SealObjectsInput {
  gvgId: number;
  /** In the order the secondaries signed (sealObjectsSignDoc). */
  objects: { objectId: bigint; checksumsHash: Uint8Array }[];
  /** Aggregated BLS signature of the group's six secondaries over sealObjectsSignDoc. */
  blsSignature: Uint8Array;
}

export interface RegisterProviderInput extends ProviderAddresses {
  blsKey: Uint8Array;
  blsProof: Uint8Array;
  endpoint: string;
  moniker: string;
  storePrice: bigint;
  readPrice: bigint;
  computePrice: bigint;
  deposit: bigint;
}

export interface ListOptions extends CallOptions {
  prefix?: string;
  startAfter?: string;
  limit?: number;
}

export interface JobInfo {
  id: bigint;
  creator: Hex;
  bucket: string;
  object: string;
  objectId: bigint;
  moduleBucket: string;
  moduleObject: string;
  moduleHash: string;
  args: string[];
  /** Small objects ("bucket/name") the job reads under /inputs/<name>. */
  sideInputs: string[];
  /** The job's environment, "NAME=value" each. */
  env: string[];
  /**
   * '' runs over the whole object; 'map' over one data piece; 'reduce' combines the maps; 'gather'
   * is a dataset's reduce over the outputs of whole-object jobs (mapJobs, in order).
   */
  mode: '' | 'map' | 'reduce' | 'gather';
  /** For a map: the data piece (0 .. data pieces − 1) it runs over. */
  pieceIndex: number;
  /** For a reduce: its map jobs, one per data piece, in piece order. */
  mapJobs: bigint[];
  maxFee: bigint;
  fuelLimit: bigint;
  executorSpId: number;
  /**
   * submitted → running (its executor acknowledged it; no cancel from then on) → settled or
   * rejected (the node refused the module); overturned when a dispute showed the receipt wrong;
   * cancelled when no provider ran it.
   */
  status: 'submitted' | 'running' | 'settled' | 'rejected' | 'overturned' | 'cancelled';
  submittedAt: number;
  fuelUsed: bigint;
  fee: bigint;
  outputHash: string;
  exitState: string;
  receiptSignature: string;
  settledAt: number;
  /** Linear memory cap the job runs with (MiB), fixed at submission so every re-run uses the same. */
  memoryMiB: number;
  /** Most output the job may return: the submitter's limit within the owner's output policy. */
  outputCap: bigint;
  /** When the executor acknowledged it (0: not yet). */
  ackedAt: number;
  /** The signed receipt it was settled with (JSON). */
  receipt: string;
  outputBytes: number;
  /** When the held fee reaches the provider (end of the dispute window); 0 once paid or returned. */
  releaseAt: number;
  dispute: JobDispute | null;
  /** The data offer the job runs under (0 or absent: none; it ran on the submitter's own permission). */
  offerId?: bigint;
  /** The data owner's fee under the offer: escrowed at submission, held with the compute fee, 0 once returned. */
  dataFee?: bigint;
  /** Who the data fee goes to (the offer's owner). */
  dataOwner?: Hex;
  /** The executor's compute price per unit of fuel, fixed when it was chosen (submission or reassignment). */
  computePrice?: bigint;
  /** Providers the job was taken from because they did not run it in time, oldest first. */
  reassignedFrom?: number[];
  /** The dataset run whose escrow pays for it (0 or absent: its own escrow). */
  runId?: bigint;
}

/**
 * A job over a dataset as the chain keeps it: one escrow for the whole run (each map's maximum
 * fee, spare attempts, the reduce's and the offer's data fees), from which its maps and its reduce
 * draw; what a job does not use goes back to the run while it is open, and the rest of the run to
 * its submitter when it ends.
 */
export interface DatasetRunInfo {
  id: bigint;
  creator: Hex;
  bucket: string;
  prefix: string;
  /** The sealed objects under the prefix when the run opened, in name order: one map each. */
  objects: string[];
  objectIds: bigint[];
  /** SHA-256 of the map module and of the reduce module ('' when the run has no reduce). */
  moduleHash: string;
  reduceModuleHash: string;
  /** Each map's maximum fee, the spare map attempts escrowed for retries, the reduce's maximum fee. */
  mapFee: bigint;
  spareMaps: number;
  reduceFee: bigint;
  /** The data offer the maps run under (0: none) and the data fees escrowed for it. */
  offerId: bigint;
  dataFees: bigint;
  /** Everything put into the run's escrow (the opening sum and any top-ups). */
  escrowed: bigint;
  /** What is in the escrow and not drawn by a job. */
  available: bigint;
  /** Every job that drew from the run, in submission order (maps, their retries, the reduce). */
  jobs: bigint[];
  /** The reduce that settled (the run's result), 0 until then. */
  resultJob: bigint;
  outputHash: string;
  exitState: string;
  /** open → done (its reduce settled) or closed (by its submitter); what was left went back then. */
  status: 'open' | 'done' | 'closed';
  refunded: bigint;
  openedAt: number;
  endedAt: number;
}

export interface OpenRunInput {
  bucket: string;
  /** Object names starting with this ('' the whole bucket). */
  prefix: string;
  moduleHash: string;
  reduceModuleHash?: string;
  mapFee: bigint;
  reduceFee?: bigint;
  spareMaps?: number;
  offerId?: bigint;
}

/** A data offer: compute over a bucket, prefix or object, sold by its owner (as the chain keeps it). */
export interface OfferInfo {
  id: bigint;
  owner: Hex;
  bucket: string;
  /** Object names starting with this are offered ('' the whole bucket; an object's full name that object). */
  prefix: string;
  audience: 'anyone' | 'accounts' | 'group';
  /** For 'accounts': who may buy. */
  buyers: Hex[];
  /** For 'group': whose members may buy. */
  groupId: bigint;
  /** SHA-256 of the modules allowed (hex); empty: any module. */
  modules: string[];
  /** Paid to the owner per job (base units). */
  pricePerJob: bigint;
  /** Paid to the owner per GiB of input the job runs over (rounded up to the base unit). */
  pricePerGiB: bigint;
  /** Most output one job may return (bytes): what the owner lets leave. */
  maxOutputBytes: bigint;
  /** Chain time (ms) after which no job may be submitted under it; 0: never. */
  expiresAt: number;
  createdAt: number;
  /** Removed offers are kept so settled and running jobs keep their terms. */
  removed: boolean;
}

export interface CreateOfferInput {
  bucket: string;
  prefix?: string;
  audience: OfferInfo['audience'];
  buyers?: Hex[];
  groupId?: bigint;
  modules?: string[];
  pricePerJob?: bigint;
  pricePerGiB?: bigint;
  maxOutputBytes: bigint;
  expiresAt?: number;
}

export interface ProviderComputeStats {
  spId: number;
  computePrice: string;
  /** Jobs submitted to it and not yet settled. */
  load: number;
  /** Jobs it settled or refused. */
  done: number;
  /** Jobs it settled (refusals left out), and the compute fees they claimed. */
  settled: number;
  earned: bigint;
}

/** What the chain records about the job that made an object. */
export interface OutputProvenance {
  jobId: bigint;
  /** The chain matched the object's checksum to the receipt's output hash. */
  checked: boolean;
  moduleHash: string;
  status: JobInfo['status'];
  receipt: string;
  receiptSignature: string;
  executorSpId: number;
  input: { bucket: string; object: string; checksums: string[] };
  sideInputs: string[];
}

/** A dispute over a settled job: chosen verifiers re-run it and the majority decides. */
export interface JobDispute {
  disputer: Hex;
  bond: bigint;
  openedAt: number;
  /** Verifiers must post their receipts by then. */
  deadline: number;
  verifiers: number[];
  votes: { spId: number; agree: boolean; outputHash: string; fuelUsed: bigint; exitState: string; receipt: string; signature: string }[];
  outcome: 'open' | 'receipt-wrong' | 'receipt-upheld' | 'inconclusive';
  /** What an overturned receipt costs its executor (capped by its deposit). */
  slashWant: bigint;
  /** Taken from the executor's deposit. */
  slashed: bigint;
}

export interface SubmitJobInput {
  bucket: string;
  object: string;
  moduleBucket: string;
  moduleObject: string;
  moduleHash: string;
  args?: string[];
  sideInputs?: string[];
  /** "NAME=value" each; names starting with INSITU_ are the runtime's. */
  env?: string[];
  mode?: '' | 'map' | 'reduce' | 'gather';
  pieceIndex?: number;
  mapJobs?: bigint[];
  maxFee: bigint;
  fuelLimit: bigint;
  /** Default: the primary of the input's bucket. */
  executorSpId?: number;
  /** Linear memory cap (MiB, default 256). */
  memoryMiB?: number;
  /** Largest output kept (bytes); the owner's output policy may lower it. */
  maxOutputBytes?: number;
  /** Runs under this data offer: the offer is the permission, its data fee is escrowed on top of maxFee. */
  offerId?: bigint;
  /** The chain picks an executor among the input's holders whose compute price is at most this. */
  maxComputePrice?: bigint;
  /** The chain picks the cheapest of the input's holders in service (within maxComputePrice). */
  cheapest?: boolean;
  /** Draws the fees from this dataset run's escrow instead of the submitter's balance. */
  runId?: bigint;
}

/** An account's stream payments now (Greenfield's stream record with its bank balance). */
export interface PaymentView {
  address: Hex;
  bankBalance: bigint;
  /** Static balance settled to `now` (it falls while the buffer is being spent, and may go below zero). */
  staticBalance: bigint;
  /** ReserveTime of outflow, prepaid. */
  bufferBalance: bigint;
  /** Reserve fees of objects waiting for their seal. */
  lockBalance: bigint;
  /** Base units per second; negative while paying. */
  netflowRate: bigint;
  frozen: boolean;
  frozenNetflowRate: bigint;
  /** Chain time (s) at which the account is frozen unless topped up; null when nothing flows out. */
  runsOutAt: bigint | null;
  /** Chain time (s) the view was computed at. */
  now: bigint;
  /** Set when this address is a payment account. */
  paymentAccount: { addr: Hex; owner: Hex; refundable: boolean } | null;
  /** The payment accounts the address owns (only in the owner's view). */
  paymentAccounts?: PaymentView[];
}

/** What a primary checks before serving a read: frozen payer, monthly quota. */
export interface BucketReadState {
  bucketName: string;
  bucketId: bigint;
  paymentAddress: Hex;
  frozen: boolean;
  chargedReadQuota: bigint;
  freeReadQuota: bigint;
  primarySpId: number;
  /** YYYY-MM of chain time (UTC). */
  month: string;
  now: number;
}

/** All money the chain holds, by where it is: the sum the conservation checks compare. */
export interface ChainHoldings {
  total: bigint;
  bank: bigint;
  streams: bigint;
  /** Part of `bank`: providers' deposits (slashable, unbonding included). */
  deposits: bigint;
  /** Part of `bank`: the fees of open challenges. */
  challengeFees: bigint;
  accounts: number;
  streamRecords: number;
  /** Chain time (s). */
  at: bigint;
}

/** A provider's storage income not yet settled, and the flows feeding it now. */
export interface ProviderIncome {
  spId: number;
  familyId: number;
  gvgIds: number[];
  unsettled: bigint;
  ratePerSecond: bigint;
  /** Chain time (s). */
  now: bigint;
}

/** The stake module: who admits providers, the accountability parameters, each provider's deposit. */
export interface StakeView {
  admin: Hex | '';
  params: AccountabilityParams;
  providers: { id: number; operatorAddress: Hex; deposit: string; admitted: boolean; status: number; unbondingUntil: number }[];
}

/** Read-only chain access: no key needed. */
export interface ChainReader {
  readonly chainId: string;
  readonly rpcUrl: string;
  status(opts?: CallOptions): Promise<{ chainId: string; height: bigint; time: number }>;
  getAccount(address: Hex, opts?: CallOptions): Promise<Account>;
  params(opts?: CallOptions): Promise<StorageParams>;
  listStorageProviders(opts?: CallOptions): Promise<StorageProvider[]>;
  getStorageProvider(idOrOperator: number | Hex, opts?: CallOptions): Promise<StorageProvider>;
  getGlobalVirtualGroup(id: number, opts?: CallOptions): Promise<GlobalVirtualGroup>;
  /** Global virtual groups whose secondaries include (or whose primary is) the given provider. */
  listGlobalVirtualGroups(spId: number, opts?: CallOptions): Promise<GlobalVirtualGroup[]>;
  headBucket(name: string, opts?: CallOptions): Promise<BucketInfo>;
  headObject(bucket: string, name: string, opts?: CallOptions): Promise<ObjectInfo>;
  headObjectById(id: bigint, opts?: CallOptions): Promise<ObjectInfo>;
  listBuckets(owner: Hex, opts?: CallOptions): Promise<BucketInfo[]>;
  listObjects(bucket: string, opts?: ListOptions): Promise<ObjectInfo[]>;
  /** Greenfield's VerifyPermission: may `operator` do `action` on the bucket or object? */
  verifyPermission(input: { operator: Hex | null; bucket: string; object?: string; action: Action }, opts?: CallOptions): Promise<Effect>;
  listPolicies(bucket: string, object?: string, opts?: CallOptions): Promise<Policy[]>;
  /** Events with seq > after, waiting up to waitMs for the first one. */
  events(after: bigint, opts?: CallOptions & { limit?: number; waitMs?: number }): Promise<ChainEvent[]>;
  /** Sealed objects stored in one global virtual group, by id (after `afterId`, at most `limit`). */
  objectsInGroup(gvgId: number, opts?: CallOptions & { afterId?: bigint; limit?: number }): Promise<{ id: bigint; bucketName: string; objectName: string; payloadSize: bigint }[]>;
  /** An owner's groups, or (with member) the groups an account belongs to, with their members. */
  listGroups(by: { owner: Hex } | { member: Hex }, opts?: CallOptions): Promise<GroupInfo[]>;
  /** Swap-in reservations in progress: a successor rebuilding what an exiting provider held. */
  swapIns(opts?: CallOptions): Promise<{ successorSpId: number; targetSpId: number; familyId: number; gvgId: number; reservedAt: number }[]>;
  getJob(id: bigint, opts?: CallOptions): Promise<JobInfo>;
  /** A dataset run with its jobs (maps, retries and reduce, in submission order). */
  getRun(id: bigint, opts?: CallOptions): Promise<{ run: DatasetRunInfo; jobs: JobInfo[] }>;
  /**
   * Jobs newest first, of a submitter (or every one), one page: `limit` (default 100, at most
   * 1000), continued from the last id of the page before as `startAfter`; `executorSpId` keeps
   * one provider's.
   */
  listJobs(creator?: Hex, opts?: CallOptions & { limit?: number; startAfter?: bigint; executorSpId?: number }): Promise<JobInfo[]>;
  /** One data offer (withdrawn ones too: jobs keep their terms). */
  getOffer(id: bigint, opts?: CallOptions): Promise<OfferInfo>;
  /** Offers in force, newest first, of an owner and/or over a bucket (all when neither). */
  listOffers(by?: { owner?: Hex; bucket?: string }, opts?: CallOptions & { limit?: number }): Promise<OfferInfo[]>;
  /** Every provider's compute price, load (jobs waiting or running on it) and jobs done. */
  computeStats(opts?: CallOptions): Promise<ProviderComputeStats[]>;
  /** The job recorded as the maker of an object, or null. */
  provenance(bucket: string, object: string, opts?: CallOptions): Promise<OutputProvenance | null>;
  /** Stream payments of an account (and of the payment accounts it owns). */
  paymentView(address: Hex, opts?: CallOptions): Promise<PaymentView>;
  bucketReadState(bucket: string, opts?: CallOptions): Promise<BucketReadState>;
  /** A provider's storage income not yet settled (its family's and its share of its groups'), and its rate now. */
  providerIncome(spId: number, opts?: CallOptions): Promise<ProviderIncome>;
  /** Everything the chain holds (bank + stream records); constant from genesis on. */
  holdings(opts?: CallOptions): Promise<ChainHoldings>;
  /** One storage challenge. */
  challenge(id: number, opts?: CallOptions): Promise<ChallengeInfo>;
  /** Open challenges a provider must check (`challenger`), or the challenges against a provider after an id. */
  challenges(by: { challenger: number } | { spId: number; afterId?: number }, opts?: CallOptions): Promise<ChallengeInfo[]>;
  /** Who admits providers and the stake rules (minimum deposit, unbonding, challenge and slash params). */
  stakeParams(opts?: CallOptions): Promise<StakeView>;
  /** Development chains only: moves chain time forward. Returns the new chain time (ms). */
  advanceTime(seconds: number, opts?: CallOptions): Promise<number>;
  /** Resolves when the tx is in a block; throws ERR_TX_FAILED with the chain's log if it failed. */
  waitForTx(txHash: Hex, opts?: CallOptions & { timeoutMs?: number }): Promise<TxResult>;
}

/** Chain access signed by one account. */
export interface ChainClient extends ChainReader {
  readonly address: Hex;
  createBucket(input: CreateBucketInput, opts?: CallOptions): Promise<TxResult & { bucket: BucketInfo }>;
  deleteBucket(name: string, opts?: CallOptions): Promise<TxResult>;
  updateBucket(name: string, input: { visibility?: Visibility; paymentAddress?: Hex; chargedReadQuota?: bigint }, opts?: CallOptions): Promise<TxResult>;
  createObject(input: CreateObjectInput, opts?: CallOptions): Promise<TxResult & { object: ObjectInfo }>;
  updateObject(bucket: string, name: string, input: { visibility: Visibility }, opts?: CallOptions): Promise<TxResult>;
  cancelCreateObject(bucket: string, name: string, opts?: CallOptions): Promise<TxResult>;
  deleteObject(bucket: string, name: string, opts?: CallOptions): Promise<TxResult>;
  /** Sent by the primary provider's seal address. */
  sealObject(input: SealObjectInput, opts?: CallOptions): Promise<TxResult>;
  /**
   * Sent by the primary provider's seal address: seals the listed objects with one aggregate. The
   * objects no longer waiting for their seal in that group (cancelled, deleted meanwhile) are
   * skipped, not failing the rest; a signature that does not verify refuses them all.
   */
  sealObjects(input: SealObjectsInput, opts?: CallOptions): Promise<TxResult & { skipped: bigint[] }>;
  /** Sent by the primary provider when replication failed: the object goes back to nothing. */
  rejectSealObject(bucket: string, name: string, opts?: CallOptions): Promise<TxResult>;
  putPolicy(input: PolicyInput, opts?: CallOptions): Promise<TxResult & { policyId: bigint }>;
  deletePolicy(input: { principal: Principal; bucket: string; object?: string }, opts?: CallOptions): Promise<TxResult>;
  transfer(to: Hex, amount: bigint, opts?: CallOptions): Promise<TxResult>;
  /** Registers the signer as a storage provider (devnet: self-registration instead of governance). */
  registerProvider(input: Omit<RegisterProviderInput, 'operatorAddress'>, opts?: CallOptions): Promise<TxResult & { provider: StorageProvider }>;
  /** Escrows maxFee and registers a job over an object. */
  submitJob(input: SubmitJobInput, opts?: CallOptions): Promise<TxResult & { jobId: bigint }>;
  /** Executor: a signed receipt (JSON) settles the job: fuel × price is held for the dispute window, the rest refunded. */
  settleJob(input: { jobId: bigint; receipt: string; receiptSignature: string }, opts?: CallOptions): Promise<TxResult>;
  /** Executor: the job has started here; from now on it cannot be cancelled. */
  ackJob(jobId: bigint, opts?: CallOptions): Promise<TxResult>;
  /** Anyone, with the bond: has the job re-run by verifiers the chain picks. */
  disputeJob(jobId: bigint, opts?: CallOptions): Promise<TxResult>;
  /** A chosen verifier: its own signed receipt of the disputed job. */
  verifyJob(input: { jobId: bigint; receipt: string; receiptSignature: string }, opts?: CallOptions): Promise<TxResult>;
  /** The submitter takes back the escrow of a job no provider acknowledged (or one acknowledged but never settled, once it cannot be running any more). */
  cancelJob(jobId: bigint, opts?: CallOptions): Promise<TxResult>;
  /** Submitter: moves a job its executor did not run in time to another holder of the input (cheapest within the limit, or the one named). */
  reassignJob(input: { jobId: bigint; executorSpId?: number; maxComputePrice?: bigint }, opts?: CallOptions): Promise<TxResult & { executorSpId: number; computePrice: bigint }>;
  /** Opens a dataset run: one escrow for all its maps, spare attempts and reduce (and the offer's data fees). */
  openRun(input: OpenRunInput, opts?: CallOptions): Promise<TxResult & { runId: bigint; escrowed: bigint }>;
  /** Submitter: adds to an open run's escrow (more retries than were set aside). */
  fundRun(runId: bigint, amount: bigint, opts?: CallOptions): Promise<TxResult>;
  /** Submitter: ends an open run; what no job holds goes back. */
  closeRun(runId: bigint, opts?: CallOptions): Promise<TxResult & { refund: bigint }>;
  /** Submitter: records that `bucket/object` (its own, sealed) is the output of its settled job. */
  recordJobOutput(input: { jobId: bigint; bucket: string; object: string }, opts?: CallOptions): Promise<TxResult>;
  /** Bucket owner: offers compute over a bucket, prefix or object for money. */
  createOffer(input: CreateOfferInput, opts?: CallOptions): Promise<TxResult & { offerId: bigint }>;
  /** Provider operator: the price it asks per unit of fuel (jobs already submitted keep theirs). */
  setComputePrice(price: bigint, opts?: CallOptions): Promise<TxResult>;
  /** Offer owner: withdraws an offer (jobs already submitted keep its terms). */
  removeOffer(offerId: bigint, opts?: CallOptions): Promise<TxResult>;
  /** Creates a group owned by the signer; returns its id. */
  createGroup(name: string, opts?: CallOptions & { extra?: string }): Promise<TxResult & { groupId: bigint }>;
  deleteGroup(name: string, opts?: CallOptions): Promise<TxResult>;
  /** Adds (with optional expiry, ms since the epoch) and removes members of one of the signer's groups. */
  updateGroupMembers(name: string, change: { add?: { member: Hex; expiresAt?: number }[]; remove?: Hex[] }, opts?: CallOptions): Promise<TxResult>;
  leaveGroup(owner: Hex, name: string, opts?: CallOptions): Promise<TxResult>;
  /** Provider: leave the network (graceful exit); successors take over its groups. */
  storageProviderExit(opts?: CallOptions): Promise<TxResult>;
  /** Provider: report a provider sharing a group as unreachable; a majority puts it in forced exit. */
  reportProviderDown(spId: number, opts?: CallOptions): Promise<TxResult>;
  /** Provider: withdraw the down reports against itself (it is back). */
  withdrawDownReports(opts?: CallOptions): Promise<TxResult>;
  /** Provider: reserve the place of an exiting provider in a group (gvgId) or as a family's primary (familyId). */
  reserveSwapIn(input: { targetSpId: number; gvgId?: number; familyId?: number }, opts?: CallOptions): Promise<TxResult>;
  /** Provider: after rebuilding its data, take the reserved place. */
  completeSwapIn(input: { gvgId?: number; familyId?: number }, opts?: CallOptions): Promise<TxResult>;
  /** The admin/governance account admits a registered provider (it enters service). */
  admitProvider(spId: number, opts?: CallOptions): Promise<TxResult>;
  /** The admin/governance account puts a provider in forced exit (Greenfield's MsgStorageProviderForcedExit). */
  forceProviderExit(operator: Hex, opts?: CallOptions): Promise<TxResult>;
  /** An exiting provider that holds no group place any more leaves; its deposit unbonds. */
  completeProviderExit(opts?: CallOptions): Promise<TxResult>;
  /** Asks the chain to challenge a provider over an object it holds (costs the challenge fee). */
  submitChallenge(input: { provider: Hex; bucket: string; object: string; segment?: number }, opts?: CallOptions): Promise<TxResult & { challengeId: number }>;
  /** A chosen challenger's verdict: `passed` when the piece and its hash list checked out. */
  attestChallenge(input: { challengeId: number; passed: boolean }, opts?: CallOptions): Promise<TxResult>;
  /** Greenfield's MsgSettle: pays a family's and groups' storage income to their providers' funding addresses. */
  settleIncome(input: { familyId?: number; gvgIds?: number[] }, opts?: CallOptions): Promise<TxResult>;
  /** Creates a payment account owned by the signer; returns its address. */
  createPaymentAccount(opts?: CallOptions): Promise<TxResult & { address: Hex }>;
  /** Moves `amount` from the signer's bank balance into `to`'s stream record (resumes it if frozen and enough). */
  deposit(to: Hex, amount: bigint, opts?: CallOptions): Promise<TxResult>;
  /** Moves `amount` from `from`'s stream record (the signer's own, or a refundable payment account it owns) to the signer. */
  withdraw(from: Hex, amount: bigint, opts?: CallOptions): Promise<TxResult>;
  /** Makes one of the signer's payment accounts non-refundable, for good. */
  disableRefund(addr: Hex, opts?: CallOptions): Promise<TxResult>;
  /** Creates a global virtual group with the signer (a provider) as primary. */
  createGlobalVirtualGroup(input: { secondarySpIds: number[]; familyId?: number; deposit?: bigint }, opts?: CallOptions): Promise<TxResult>;
}

/** The seal sign doc the secondaries BLS-sign (Greenfield's SecondarySpSealObjectSignDoc). */
export interface SealSignDocInput {
  chainId: string;
  gvgId: number;
  objectId: bigint;
  checksums: Uint8Array[];
}
