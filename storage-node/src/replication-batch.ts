// The primary's side of replicating small objects: the pieces that concurrent uploads send to one
// secondary go together in one signed request (http/replicate-batch.ts), so the secondary checks
// one signature, parses one request and answers once for several objects. A piece waits for no
// timer: while IN_FLIGHT requests to a secondary await their answers, the pieces handed on
// meanwhile wait and go out together as soon as one is answered, so batches grow with the load
// and a lone upload's pieces go out at once.

import { request } from 'undici';
import { InsituError } from '@insitu/protocol';
import { signRequest } from '@insitu/protocol/auth';
import { errorFrom, spDispatcher } from '@insitu/sdk/sp';
import { formatBatch, MAX_BATCH_BYTES, MAX_BATCH_PIECES, type BatchResult } from './http/replicate-batch.ts';
import { heardFrom, watchReplication } from './http/replication-watch.ts';

/** Requests in flight to one secondary at a time. */
const IN_FLIGHT = 2;

export interface PieceToSend {
  objectId: bigint;
  index: number;
  piece: Uint8Array;
}

interface Waiting extends PieceToSend {
  resolve(signature: Uint8Array): void;
  reject(e: unknown): void;
}

export interface ReplicationBatcher {
  /** Sends one piece to the secondary at `endpoint`; resolves with its BLS approval of the object. */
  send(endpoint: string, piece: PieceToSend): Promise<Uint8Array>;
}

export function createReplicationBatcher(opts: { operatorKey: string; stallMs: number }): ReplicationBatcher {
  const lanes = new Map<string, { queue: Waiting[]; inFlight: number; scheduled: boolean }>();

  async function post(endpoint: string, batch: Waiting[]): Promise<void> {
    const entries = batch.map((w) => ({ objectId: w.objectId, index: w.index, bytes: w.piece.length }));
    const url = new URL(`/insitu/v1/replicate-pieces?pieces=${formatBatch(entries)}`, endpoint);
    const what = `replication of ${batch.length} piece${batch.length === 1 ? '' : 's'} to ${url.host}`;
    const stall = new AbortController();
    let answered = false;
    const watch = watchReplication({
      endpoint,
      stallMs: opts.stallMs,
      waiting: () => !answered,
      onStall: () => stall.abort(new InsituError('ERR_REPLICATION_FAILED', `secondary ${endpoint} has not answered for ${opts.stallMs / 1000} s and answers nothing else`)),
    });
    let results: BatchResult[];
    try {
      const res = await request(url, {
        method: 'PUT',
        headers: signRequest({ method: 'PUT', url, privateKey: opts.operatorKey }),
        body: batch.length === 1 ? batch[0]!.piece : Buffer.concat(batch.map((w) => w.piece)),
        dispatcher: spDispatcher,
        signal: stall.signal,
      });
      if (res.statusCode >= 300) throw await errorFrom(res, what);
      results = ((await res.body.json()) as { results: BatchResult[] }).results;
      answered = true;
      heardFrom(endpoint);
      if (!Array.isArray(results) || results.length !== batch.length) throw new InsituError('ERR_REPLICATION_FAILED', `${url.host} answered ${what} with ${Array.isArray(results) ? results.length : 'no'} results`);
    } catch (e) {
      if (stall.signal.aborted) throw stall.signal.reason;
      // Any answer, even a refusal, shows the secondary alive to the other uploads' watches.
      if (e instanceof InsituError && e.status !== undefined && !answered) heardFrom(endpoint);
      if (e instanceof InsituError) throw e;
      throw new InsituError('ERR_NODE_UNAVAILABLE', `${what}: ${url.host} did not answer (${(e as Error).message})`, { cause: e });
    } finally {
      answered = true;
      watch.stop();
    }
    batch.forEach((w, i) => {
      const r = results[i]!;
      if ('signature' in r && typeof r.signature === 'string' && /^[0-9a-f]{192}$/i.test(r.signature)) w.resolve(new Uint8Array(Buffer.from(r.signature, 'hex')));
      else if ('code' in r) w.reject(new InsituError(r.code as never, String(r.message)));
      else w.reject(new InsituError('ERR_REPLICATION_FAILED', `${url.host} returned no approval signature`));
    });
  }

  function pump(endpoint: string): void {
    const lane = lanes.get(endpoint)!;
    lane.scheduled = false;
    while (lane.inFlight < IN_FLIGHT && lane.queue.length > 0) {
      let n = 0;
      let bytes = 0;
      while (n < lane.queue.length && n < MAX_BATCH_PIECES && (n === 0 || bytes + lane.queue[n]!.piece.length <= MAX_BATCH_BYTES)) bytes += lane.queue[n++]!.piece.length;
      const batch = lane.queue.splice(0, n);
      lane.inFlight++;
      post(endpoint, batch).catch((e: unknown) => {
        for (const w of batch) w.reject(e);
      }).finally(() => {
        lane.inFlight--;
        if (lane.queue.length > 0) schedule(endpoint);
        else if (lane.inFlight === 0) lanes.delete(endpoint);
      });
    }
  }

  function schedule(endpoint: string): void {
    const lane = lanes.get(endpoint)!;
    if (lane.scheduled) return;
    lane.scheduled = true;
    // Pieces handed on in the same turn of the event loop (uploads whose bytes arrived together) go together.
    setImmediate(() => pump(endpoint));
  }

  return {
    send(endpoint, piece) {
      let lane = lanes.get(endpoint);
      if (!lane) lanes.set(endpoint, (lane = { queue: [], inFlight: 0, scheduled: false }));
      const p = new Promise<Uint8Array>((resolve, reject) => lane.queue.push({ ...piece, resolve, reject }));
      schedule(endpoint);
      return p;
    },
  };
}
