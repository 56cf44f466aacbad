// abci_query, written once for both fronts (the embedded JSON-RPC server and the ABCI Query
// of CometBFT): Greenfield's gRPC paths with protobuf payloads, the project's JSON extension
// paths (/insitu.*), and Simulate.

import { InsituError } from '@insitu/protocol';
import { MANY_QUERY_MAX, MANY_QUERY_PATH, MANY_QUERY_PATHS } from '@insitu/protocol/chain';
import { encodeValue, decodeValue } from '../state/store.ts';
import { queryCodecs, toLong } from '../gnfd.ts';
import { decodeSimulateTx } from '../tx/decode.ts';
import { resultData } from './json.ts';
import type { ChainApp } from '../state/types.ts';
import type { Logger } from '../state/app.ts';

export interface QueryAnswer {
  code: number;
  log: string;
  codespace: string;
  value: Uint8Array;
  height: bigint;
}

/** Cosmos's "key not found" code, which Cosmos clients recognise. */
const NOT_FOUND_CODE = 22;

/** Paths whose answer depends on the committed state alone (the query of many takes only these). */
const PER_HEIGHT = MANY_QUERY_PATHS;
/** Answers kept per height, at most this many. */
const PER_HEIGHT_ANSWERS = 1024;
const answered = new WeakMap<ChainApp, { height: bigint; answers: Map<string, QueryAnswer> }>();

/**
 * abci_query. On the embedded chain (`perHeight`), a PER_HEIGHT path asked again at the same
 * height gets the answer already given there (the state it read is the state still committed); a
 * new block starts afresh. An answer computed while a block committed is not kept, nor a failure
 * other than "not found". Driven by CometBFT the app answers every query anew: there, answers kept
 * this way were seen to go stale (uploads through 4 validators failing now and then with
 * ERR_OBJECT_NOT_FOUND for an object their creation had just committed).
 */
export async function answerQuery(app: ChainApp, logger: Logger, path: string, data: Uint8Array, perHeight = false): Promise<QueryAnswer> {
  if (path === MANY_QUERY_PATH) return answerMany(app, logger, data, perHeight);
  if (!perHeight || !PER_HEIGHT.has(path)) return answerAnew(app, logger, path, data);
  let height: bigint;
  try {
    height = (await app.latestBlock()).height;
  } catch {
    return answerAnew(app, logger, path, data);
  }
  const key = `${path}\0${Buffer.from(data).toString('hex')}`;
  let kept = answered.get(app);
  if (kept?.height === height) {
    const known = kept.answers.get(key);
    if (known) return known;
  }
  const answer = await answerAnew(app, logger, path, data);
  // Only what the state answered (found, or not found) is kept, never a passing failure.
  if ((answer.code !== 0 && answer.code !== NOT_FOUND_CODE) || answer.height !== height || (await app.latestBlock()).height !== height) return answer;
  kept = answered.get(app);
  if (kept?.height !== height) answered.set(app, (kept = { height, answers: new Map() }));
  if (kept.answers.size < PER_HEIGHT_ANSWERS) kept.answers.set(key, answer);
  return answer;
}

/** The height answers are given at: the latest block's, or 0 before the first. */
async function latestHeight(app: ChainApp): Promise<bigint> {
  try {
    return (await app.latestBlock()).height;
  } catch {
    return 0n;
  }
}

/**
 * Several of the PER_HEIGHT queries in one: what a process asks in the same moment (a node
 * checking the objects of a batch of pieces, many uploads of one client reading their objects)
 * costs the chain one request and one answer instead of one each. The request is JSON
 * {"queries": [{"path": "...", "data": <bytes>}]} (at most MANY_QUERY_MAX); the answer is JSON
 * {"answers": [{"code", "log", "codespace", "height", "value": "<base64>"}]}, each exactly what
 * abci_query answers for that query alone, in the same order. Only these paths are taken: each
 * is a few reads of the state, so a request of many costs what as many requests would, no more.
 */
async function answerMany(app: ChainApp, logger: Logger, data: Uint8Array, perHeight: boolean): Promise<QueryAnswer> {
  const height = await latestHeight(app);
  const refuse = (message: string): QueryAnswer => ({ code: 1, log: `ERR_BAD_REQUEST: ${message}`, codespace: 'insitu', value: new Uint8Array(), height });
  let queries: unknown;
  try {
    queries = decodeValue<{ queries?: unknown }>(Buffer.from(data).toString('utf8'))?.queries;
  } catch {
    return refuse(`the request for ${MANY_QUERY_PATH} is not JSON`);
  }
  if (!Array.isArray(queries) || queries.length === 0 || queries.length > MANY_QUERY_MAX) return refuse(`${MANY_QUERY_PATH} takes 1 to ${MANY_QUERY_MAX} queries`);
  const asked: { path: string; data: Uint8Array }[] = [];
  for (const q of queries as { path?: unknown; data?: unknown }[]) {
    if (!q || typeof q.path !== 'string' || !PER_HEIGHT.has(q.path) || !(q.data instanceof Uint8Array)) {
      return refuse(`each query of ${MANY_QUERY_PATH} is {path, data} with one of the paths ${[...PER_HEIGHT].join(', ')}`);
    }
    asked.push({ path: q.path, data: q.data });
  }
  const answers: Record<string, unknown>[] = [];
  for (const q of asked) {
    const a = await answerQuery(app, logger, q.path, q.data, perHeight);
    // The height as encodeValue writes a bigint: the text is encodeValue's, without its replacer.
    answers.push({ code: a.code, log: a.log, codespace: a.codespace, height: { $big: a.height.toString() }, value: Buffer.from(a.value).toString('base64') });
  }
  return { code: 0, log: '', codespace: '', value: new Uint8Array(Buffer.from(JSON.stringify({ answers }), 'utf8')), height };
}

async function answerAnew(app: ChainApp, logger: Logger, path: string, data: Uint8Array): Promise<QueryAnswer> {
  const height = await latestHeight(app);
  const reply = (value: Uint8Array, code = 0, log = '', codespace = ''): QueryAnswer => ({ code, log, codespace, value, height });
  try {
    if (path === '/cosmos.tx.v1beta1.Service/Simulate') {
      const { request, response } = queryCodecs(path)!;
      let txBytes: Uint8Array;
      try {
        txBytes = (request.decode(data) as { txBytes: Uint8Array }).txBytes;
      } catch (cause) {
        throw new InsituError('ERR_BAD_REQUEST', 'malformed Simulate request', { cause });
      }
      const r = await app.simulate(decodeSimulateTx(txBytes));
      const gasInfo = { gasWanted: toLong(r.gasWanted), gasUsed: toLong(r.gasUsed), minGasPrice: `${app.minGasPrice}BNB` };
      if (r.code !== 0) {
        // Cosmos's words for a failed simulation, after the stable code. A message failure (the
        // ante checks passed, so the gas is known) also carries the gas info as the value, which
        // Cosmos clients ignore on a failed query: a client whose transaction builds on one not
        // yet in a block learns the gas without being told the outcome in advance.
        const log = `${r.log} With gas wanted: '${r.gasWanted}' and gas used: '${r.gasUsed}' `;
        const value = r.gasUsed > 0n ? response.encode(response.fromPartial({ gasInfo })).finish() : new Uint8Array();
        return reply(value, r.code, log, r.codespace);
      }
      return reply(response.encode(response.fromPartial({
        gasInfo,
        result: {
          data: resultData(r),
          log: '',
          events: r.events.map((e) => ({ type: e.type, attributes: e.attributes.map((a) => ({ ...a, index: true })) })),
          msgResponses: [],
        },
      })).finish());
    }
    if (path.startsWith('/insitu.')) {
      let req: Record<string, unknown>;
      try {
        req = data.length ? decodeValue<Record<string, unknown>>(Buffer.from(data).toString('utf8')) : {};
      } catch (cause) {
        throw new InsituError('ERR_BAD_REQUEST', `the request for ${path} is not JSON`, { cause });
      }
      if (!req || typeof req !== 'object' || Array.isArray(req)) throw new InsituError('ERR_BAD_REQUEST', `the request for ${path} must be a JSON object`);
      const res = await app.query(path, req);
      return reply(new Uint8Array(Buffer.from(encodeValue(res), 'utf8')));
    }
    const codecs = queryCodecs(path);
    if (!codecs) throw new InsituError('ERR_BAD_REQUEST', `unknown query path ${path}`);
    let req: Record<string, unknown>;
    try {
      req = codecs.request.decode(data);
    } catch (cause) {
      throw new InsituError('ERR_BAD_REQUEST', `malformed request for ${path}`, { cause });
    }
    const res = await app.query(path, req);
    return reply(codecs.response.encode(codecs.response.fromPartial(res)).finish());
  } catch (e) {
    const ie = e instanceof InsituError ? e : new InsituError('ERR_INTERNAL', String(e));
    if (ie.code === 'ERR_INTERNAL') logger.error('query failed', { path, error: String(e) });
    // Cosmos clients (cosmjs' getAccount) recognise "not found" by gRPC's words in the log.
    if (ie.status === 404) return reply(new Uint8Array(), NOT_FOUND_CODE, `rpc error: code = NotFound desc = ${ie.code}: ${ie.message}`, 'insitu');
    return reply(new Uint8Array(), 1, `${ie.code}: ${ie.message}`, 'insitu');
  }
}
