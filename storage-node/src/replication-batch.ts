// The primary's side of replicating and sealing small objects, in rounds. The uploads of one
// global virtual group handed over in the same turn of the event loop (and those that queue while
// the group's previous round is being replicated) form a round: each secondary gets its pieces
// of all of them in one signed request (http/replicate-batch.ts), checks each as before, and
// answers with ONE BLS signature over the list of objects it accepted (sealObjectsSignDoc). When
// the six lists agree, the six signatures are aggregated, checked once against the group's keys,
// the primary's copies committed, and the round sealed by one MsgSealObjects (insitu's extension of
// Greenfield, whose secondaries sign and whose chain verifies each object). When a secondary
// refused a piece, only that object fails, with that secondary's error: the others ask each
// secondary whose signature covers another list to approve the list all of them hold (an empty
// request naming the objects), so an uploader who cancels its own object mid-round fails no one
// else's upload. A round waits for no timer: a lone upload is a round of one.

import { request } from 'undici';
import { InsituError, blsAggregateChecker, blsAggregateUnchecked, blsVerify } from '@insitu/protocol';
import { checksumsHash, sealObjectsSignDoc, type ChainClient, type StorageProvider } from '@insitu/protocol/chain';
import { signRequest } from '@insitu/protocol/auth';
import { errorFrom, spDispatcher } from '@insitu/sdk/sp';
import { formatApproval, formatBatch, MAX_BATCH_BYTES, MAX_BATCH_PIECES, type BatchAnswer } from './http/replicate-batch.ts';
import { heardFrom, watchReplication } from './http/replication-watch.ts';

/**
 * Rounds of one group being replicated at a time; their seals are not counted (the chain client
 * batches them). One: the uploads arriving while a round replicates make the next round, so rounds
 * grow with the load. With two, rounds held about half as many objects and, 4 KiB uploads from 32
 * clients at load 16-18, cost the chain 5.3 ms per upload instead of 4.3-4.6, the primary 4.4
 * instead of 3.2-3.4 and each secondary 1.45 instead of 1.1, at the same rate.
 */
const IN_FLIGHT = 1;

/** Aggregate-signature checkers by set of secondaries' BLS keys: each set's keys are checked and aggregated once. */
const checkers = new Map<string, (signature: Uint8Array, message: Uint8Array) => boolean>();
function approvalChecker(keys: Uint8Array[]): (signature: Uint8Array, message: Uint8Array) => boolean {
  const id = keys.map((k) => Buffer.from(k).toString('hex')).join('');
  let check = checkers.get(id);
  if (!check) {
    if (checkers.size >= 1024) checkers.clear();
    // A key the chain holds is valid (registered with its proof of possession); were one not, each
    // approval is checked alone and the secondary named.
    try {
      check = blsAggregateChecker(keys);
    } catch {
      check = () => false;
    }
    checkers.set(id, check);
  }
  return check;
}

/**
 * The secondaries' approvals of `doc` (a streamed object's, or a round's), aggregated and checked
 * once against their keys, as the chain checks them; only when the aggregate fails is each
 * approval checked alone, to name the secondary whose does not verify. Throws
 * ERR_REPLICATION_FAILED naming that secondary, or `what` when each verifies alone.
 */
export function aggregateApprovals(secondaries: StorageProvider[], signatures: Uint8Array[], doc: Uint8Array, what: string): Uint8Array {
  const keys = secondaries.map((sp) => sp.blsKey);
  let aggregate: Uint8Array | undefined;
  try {
    aggregate = blsAggregateUnchecked(signatures);
  } catch {
    aggregate = undefined;
  }
  if (aggregate && approvalChecker(keys)(aggregate, doc)) return aggregate;
  const bad = signatures.findIndex((sig, j) => !blsVerify(sig, doc, keys[j]!));
  throw new InsituError('ERR_REPLICATION_FAILED', bad >= 0 ? `secondary ${secondaries[bad]!.id} returned an approval that does not verify` : `the secondaries' approvals of ${what} do not verify together`);
}

export interface SmallUpload {
  objectId: bigint;
  checksums: Uint8Array[];
  gvgId: number;
  /** The group's secondaries, piece index order. */
  secondaries: StorageProvider[];
  /** Piece j goes to secondary j. */
  pieces: Uint8Array[];
  /** bucket/name, for errors. */
  what: string;
  /**
   * Commits the primary's copy (its bytes already checked against the chain): called when the
   * round starts, so the sync runs while the secondaries take their pieces; awaited before the
   * seal. An upload that fails before its seal is sent deletes the copy.
   */
  commit(): Promise<void>;
  /** Called when the seal of the upload's object is about to be sent: from then on it may be sealed whatever is heard. */
  sealing?(): void;
}

export interface RoundTimes {
  /** When the secondaries' approvals were in and checked. */
  approved: number;
  /** When the seal was sent. */
  sealing: number;
}

export interface ReplicationBatcher {
  /** Replicates the upload's pieces, has its round approved and sealed; resolves once the object is sealed. */
  seal(upload: SmallUpload): Promise<RoundTimes>;
}

interface Item extends SmallUpload {
  hash: Uint8Array;
  resolve(t: RoundTimes): void;
  reject(e: unknown): void;
}

/** A secondary's answer: the objects it approves, in round order, and its signature over them. */
interface Approval {
  items: Item[];
  signature: Uint8Array | undefined;
}

export function createReplicationBatcher(opts: { operatorKey: string; stallMs: number; chainId: string; chain: ChainClient }): ReplicationBatcher {
  const lanes = new Map<string, { queue: Item[]; inFlight: number; scheduled: boolean }>();

  /** One signed request to secondary j about `items`: their pieces, or (approve) an approval of what it holds. */
  async function post(sp: StorageProvider, j: number, gvgId: number, items: Item[], approve: boolean): Promise<BatchAnswer> {
    const list = approve
      ? `approve=${formatApproval(items.map((w) => ({ objectId: w.objectId, index: j })))}`
      : `pieces=${formatBatch(items.map((w) => ({ objectId: w.objectId, index: j, bytes: w.pieces[j]!.length })))}`;
    const url = new URL(`/insitu/v1/replicate-pieces?gvg=${gvgId}&${list}`, sp.endpoint);
    const what = `${approve ? 'approval' : 'replication'} of ${items.length} object${items.length === 1 ? '' : 's'} by ${url.host}`;
    const stall = new AbortController();
    let answered = false;
    const watch = watchReplication({
      endpoint: sp.endpoint,
      stallMs: opts.stallMs,
      waiting: () => !answered,
      onStall: () => stall.abort(new InsituError('ERR_REPLICATION_FAILED', `secondary ${sp.endpoint} has not answered for ${opts.stallMs / 1000} s and answers nothing else`)),
    });
    try {
      const res = await request(url, {
        method: 'PUT',
        headers: signRequest({ method: 'PUT', url, privateKey: opts.operatorKey }),
        body: approve ? '' : items.length === 1 ? items[0]!.pieces[j]! : Buffer.concat(items.map((w) => w.pieces[j]!)),
        dispatcher: spDispatcher,
        signal: stall.signal,
      });
      if (res.statusCode >= 300) throw await errorFrom(res, what);
      const answer = (await res.body.json()) as BatchAnswer;
      answered = true;
      heardFrom(sp.endpoint);
      if (!Array.isArray(answer.results) || answer.results.length !== items.length) throw new InsituError('ERR_REPLICATION_FAILED', `${url.host} answered ${what} with ${Array.isArray(answer.results) ? answer.results.length : 'no'} results`);
      return answer;
    } catch (e) {
      if (stall.signal.aborted) throw stall.signal.reason;
      // Any answer, even a refusal, shows the secondary alive to the other uploads' watches.
      if (e instanceof InsituError && e.status !== undefined && !answered) heardFrom(sp.endpoint);
      if (e instanceof InsituError) throw e;
      throw new InsituError('ERR_NODE_UNAVAILABLE', `${what}: ${url.host} did not answer (${(e as Error).message})`, { cause: e });
    } finally {
      answered = true;
      watch.stop();
    }
  }

  /** The uploader hears why, and from which secondary. */
  const named = (e: unknown, sp: StorageProvider, j: number, w: Item): unknown =>
    e instanceof InsituError && (e.code === 'ERR_NODE_DISK_FULL' || e.code === 'ERR_REPLICATION_FAILED')
      ? new InsituError(e.code, `secondary ${sp.id} (${sp.endpoint}) could not take piece ${j} of ${w.what}: ${e.message}`, { cause: e })
      : e;

  /**
   * Asks every secondary (pieces, or an approval of what it holds) about `items`; fails each item a
   * secondary refuses, with that secondary's error, and every item when a secondary's request fails
   * as a whole. Returns each secondary's approval.
   */
  async function ask(round: { gvgId: number; secondaries: StorageProvider[]; live: Set<Item> }, items: Item[], who: number[], approve: boolean, approvals: Approval[]): Promise<void> {
    const answers = await Promise.allSettled(who.map((j) => post(round.secondaries[j]!, j, round.gvgId, items, approve)));
    answers.forEach((a, k) => {
      const j = who[k]!;
      const sp = round.secondaries[j]!;
      if (a.status === 'rejected') {
        for (const w of items) fail(round.live, w, named(a.reason, sp, j, w));
        approvals[j] = { items: [], signature: undefined };
        return;
      }
      const approved: Item[] = [];
      a.value.results.forEach((r, i) => {
        const w = items[i]!;
        if ('ok' in r && r.ok === true) approved.push(w);
        else if ('code' in r) fail(round.live, w, named(new InsituError(r.code as never, String(r.message)), sp, j, w));
        else fail(round.live, w, new InsituError('ERR_REPLICATION_FAILED', `secondary ${sp.id} (${sp.endpoint}) answered nothing about ${w.what}`));
      });
      const sig = typeof a.value.signature === 'string' && /^[0-9a-f]{192}$/i.test(a.value.signature) ? new Uint8Array(Buffer.from(a.value.signature, 'hex')) : undefined;
      approvals[j] = { items: approved, signature: sig };
    });
  }

  function fail(live: Set<Item>, w: Item, e: unknown): void {
    if (!live.delete(w)) return;
    w.reject(e);
  }

  /**
   * Has every secondary sign the list of the round's uploads still live, in round order: those
   * whose last approval covers another list are asked again about the current one, until all six
   * agree (each time a secondary refuses an object the list shrinks). The signatures, or undefined
   * when nothing is left.
   */
  async function agree(round: { gvgId: number; secondaries: StorageProvider[]; live: Set<Item>; items: Item[] }, approvals: Approval[]): Promise<Uint8Array[] | undefined> {
    let asked: number | undefined;
    for (;;) {
      const current = round.items.filter((w) => round.live.has(w));
      if (current.length === 0) return undefined;
      const same = (a: Approval | undefined): boolean => !!a?.signature && a.items.length === current.length && a.items.every((w, i) => w === current[i]);
      const who = round.secondaries.map((_, j) => j).filter((j) => !same(approvals[j]));
      if (who.length === 0) return approvals.map((a) => a.signature!);
      // Asked about this very list and still no agreement: a secondary approved all of it without
      // a valid signature. Only then does the round fail as a whole; every other time the list
      // shrank (an object refused fails alone), so the asking ends.
      if (asked === current.length) {
        for (const w of current) fail(round.live, w, new InsituError('ERR_REPLICATION_FAILED', `secondary ${round.secondaries[who[0]!]!.id} approved the objects of its round with ${w.what} without a valid signature`));
        return undefined;
      }
      asked = current.length;
      await ask(round, current, who, true, approvals);
    }
  }

  /** One round: replicated, agreed, checked (then the lane may start the next), committed, sealed. */
  async function runRound(items: Item[], release: () => void): Promise<void> {
    const { gvgId, secondaries } = items[0]!;
    const round = { gvgId, secondaries, items, live: new Set(items) };
    let released = false;
    const done = (): void => {
      if (!released) release();
      released = true;
    };
    // The primary's copies are synced while the secondaries take and sync theirs.
    const commits = items.map((w) => w.commit().then(() => undefined, (e: unknown) => e ?? new Error('commit failed')));
    try {
      const approvals: Approval[] = [];
      await ask(round, items, secondaries.map((_, j) => j), false, approvals);
      // The pieces are with the secondaries: the round no longer holds them while it is sealed.
      for (const w of items) w.pieces = [];
      let signatures = await agree(round, approvals);
      if (!signatures) return;
      const listed = (): Item[] => items.filter((w) => round.live.has(w));
      const docOf = (list: Item[]): Uint8Array => sealObjectsSignDoc({ chainId: opts.chainId, gvgId, objects: list.map((w) => ({ objectId: w.objectId, checksumsHash: w.hash })) });
      /** The six signatures over the live list, aggregated and checked once; a failure fails every object of it. */
      const check = (sigs: Uint8Array[]): Uint8Array | undefined => {
        const list = listed();
        try {
          return aggregateApprovals(secondaries, sigs, docOf(list), `${list.length} objects`);
        } catch (e) {
          for (const w of list) fail(round.live, w, new InsituError('ERR_REPLICATION_FAILED', `${(e as InsituError).message} (${w.what})`));
          return undefined;
        }
      };
      let aggregate = check(signatures);
      done();
      if (!aggregate) return;
      const approved = performance.now();
      // The primary's copies are committed before the seal; one that failed takes its object out,
      // and the others are approved again without it.
      const committed = await Promise.all(commits);
      let lost = false;
      committed.forEach((e, i) => {
        if (e !== undefined && round.live.has(items[i]!)) {
          fail(round.live, items[i]!, e);
          lost = true;
        }
      });
      if (lost) {
        signatures = await agree(round, approvals);
        if (!signatures || !(aggregate = check(signatures))) return;
      }
      const list = listed();
      for (const w of list) w.sealing?.();
      const sealing = performance.now();
      const { skipped } = await opts.chain.sealObjects({ gvgId, objects: list.map((w) => ({ objectId: w.objectId, checksumsHash: w.hash })), blsSignature: aggregate });
      const gone = new Set(skipped);
      for (const w of list) {
        if (gone.has(w.objectId)) fail(round.live, w, new InsituError('ERR_OBJECT_NOT_FOUND', `${w.what} was cancelled or deleted before it could be sealed`));
        else {
          round.live.delete(w);
          w.resolve({ approved, sealing });
        }
      }
    } catch (e) {
      for (const w of [...round.live]) fail(round.live, w, e);
    } finally {
      done();
    }
  }

  function pump(key: string): void {
    const lane = lanes.get(key)!;
    lane.scheduled = false;
    while (lane.inFlight < IN_FLIGHT && lane.queue.length > 0) {
      // Every secondary gets one piece per object; a piece is the same size at every index.
      let n = 0;
      let bytes = 0;
      while (n < lane.queue.length && n < MAX_BATCH_PIECES && (n === 0 || bytes + lane.queue[n]!.pieces[0]!.length <= MAX_BATCH_BYTES)) bytes += lane.queue[n++]!.pieces[0]!.length;
      const items = lane.queue.splice(0, n);
      lane.inFlight++;
      void runRound(items, () => {
        lane.inFlight--;
        if (lane.queue.length > 0) schedule(key);
        else if (lane.inFlight === 0) lanes.delete(key);
      });
    }
  }

  function schedule(key: string): void {
    const lane = lanes.get(key)!;
    if (lane.scheduled) return;
    lane.scheduled = true;
    // Uploads handed on in the same turn of the event loop (their bytes arrived together) go together.
    setImmediate(() => pump(key));
  }

  return {
    seal(upload) {
      // A round is one group with one list of secondaries (a swap-in changes the list).
      const key = `${upload.gvgId}/${upload.secondaries.map((sp) => `${sp.id}@${sp.endpoint}`).join(',')}`;
      let lane = lanes.get(key);
      if (!lane) lanes.set(key, (lane = { queue: [], inFlight: 0, scheduled: false }));
      const p = new Promise<RoundTimes>((resolve, reject) => lane.queue.push({ ...upload, hash: checksumsHash(upload.checksums), resolve, reject }));
      schedule(key);
      return p;
    },
  };
}
