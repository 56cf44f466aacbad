// The dashboard: one self-contained page (no build step) that polls a JSON view of the cluster
// every second — nodes and their health and storage income, buckets and objects with where their
// pieces live, the listed owners' stream payments, jobs with their states and receipts, repairs
// and swap-ins in progress. Each node serves it for
// itself at /dashboard (GET /dashboard/api), the devnet supervisor for the whole devnet at / (GET
// /api/cluster); both build the view with clusterView(). A node's view is for anyone who can
// reach it, so it names only objects anyone may read: private ones are counted, not named.

import { request } from 'undici';
import { spDispatcher } from '@insitu/sdk/sp';
import type { ChainReader, StorageProvider } from '@insitu/protocol/chain';
import type { Hex } from '@insitu/protocol';

export interface ClusterView {
  at: number;
  chain: { chainId: string; height: string } | { error: string };
  /** Whose view: 'cluster' (the devnet) or one node's id. */
  scope: 'cluster' | number;
  nodes: { id: number; moniker: string; endpoint: string; status: string; up: boolean; pieces: number | null; objects: number | null; repairsOk: number | null; repairsFailed: number | null; repairsQueued: number | null; inProgress: unknown[]; /** What the chain says it holds and it lacks, and how long it has been healing (or took). */ missing: { state: string; bytes: number; entries: number; healMs: number; rebuiltBytes: number } | null; swapsInProgress: unknown[]; heals: unknown[]; income: { unsettled: string; perSecond: string } | null }[];
  /** Stream payments of the listed owners and their payment accounts. */
  payers: { address: string; owner: string | null; balance: string; locked: string; perSecond: string; frozen: boolean; runsOutAt: string | null }[];
  objects: { bucket: string; name: string; id: string; size: string; status: string; placement: { index: number; role: string; spId: number }[] }[];
  /** Objects in the view that only their owner and grantees may read: counted, not listed (publicOnly views). */
  privateObjects: number;
  jobs: { id: string; mode: string; input: string; status: string; exitState: string; executorSpId: number; fuelUsed: string; fee: string; outputHash: string; receiptSignature: string }[];
  swapIns: { successorSpId: number; targetSpId: number; gvgId: number; familyId: number }[];
}

async function nodeStatus(sp: StorageProvider): Promise<Record<string, unknown> | null> {
  try {
    const res = await request(new URL('/status', sp.endpoint), { dispatcher: spDispatcher, signal: AbortSignal.timeout(1500) });
    if (res.statusCode !== 200) {
      await res.body.dump();
      return null;
    }
    return (await res.body.json()) as Record<string, unknown>;
  } catch {
    return null;
  }
}

/** A node's holdings (start-up check and rebuilds) for the nodes table. */
function holdingsOf(h: unknown): ClusterView['nodes'][number]['missing'] {
  if (!h || typeof h !== 'object') return null;
  const x = h as { state?: string; missing?: { bytes?: number; entries?: number }; found?: { bytes?: number }; healMs?: number };
  return { state: String(x.state ?? ''), bytes: Number(x.missing?.bytes ?? 0), entries: Number(x.missing?.entries ?? 0), healMs: Number(x.healMs ?? 0), rebuiltBytes: Number(x.found?.bytes ?? 0) };
}

const str = (v: unknown): string => (typeof v === 'bigint' ? v.toString() : String(v ?? ''));

/**
 * What the chain and the nodes say now. `owners` are the accounts whose buckets are listed (the
 * chain lists buckets by owner); `scope` narrows objects and jobs to one provider.
 */
export async function clusterView(chain: ChainReader, opts: { owners?: Hex[]; scope?: number; maxObjects?: number; publicOnly?: boolean }): Promise<ClusterView> {
  const scope = opts.scope ?? 'cluster';
  const view: ClusterView = { at: Date.now(), chain: { error: 'not reached' }, scope, nodes: [], objects: [], privateObjects: 0, jobs: [], swapIns: [], payers: [] };
  // Anyone may read it exactly when an unsigned GET is allowed (public bucket, or a public object).
  const readable = new Map<string, Promise<boolean>>();
  const isPublic = (bucket: string, object: string): Promise<boolean> => {
    if (!opts.publicOnly) return Promise.resolve(true);
    const key = `${bucket}/${object}`;
    let p = readable.get(key);
    if (!p) {
      p = chain.verifyPermission({ operator: null, bucket, object, action: 'get-object' }).then((e) => e === 'allow', () => false);
      readable.set(key, p);
    }
    return p;
  };
  try {
    const s = await chain.status();
    view.chain = { chainId: s.chainId, height: s.height.toString() };
  } catch (e) {
    view.chain = { error: (e as Error).message };
    return view;
  }
  const providers = await chain.listStorageProviders();
  view.nodes = await Promise.all(providers.map(async (sp) => {
    const [st, income] = await Promise.all([nodeStatus(sp), chain.providerIncome(sp.id).catch(() => null)]);
    const rec = (st?.recovery ?? {}) as Record<string, unknown>;
    return {
      id: sp.id, moniker: sp.moniker, endpoint: sp.endpoint, status: sp.status, up: st !== null,
      pieces: st ? Number(st.pieces) : null, objects: st ? Number(st.objects) : null,
      repairsOk: st ? Number(rec.repairsOk ?? 0) : null, repairsFailed: st ? Number(rec.repairsFailed ?? 0) : null, repairsQueued: st ? Number(rec.queueLength ?? 0) : null,
      missing: holdingsOf(rec.holdings),
      inProgress: (rec.inProgress as unknown[]) ?? [], swapsInProgress: (rec.swapsInProgress as unknown[]) ?? [], heals: (rec.heals as unknown[]) ?? [],
      income: income ? { unsettled: income.unsettled.toString(), perSecond: income.ratePerSecond.toString() } : null,
    };
  }));
  const groups = new Map<number, { primarySpId: number; secondarySpIds: number[] }>();
  const max = opts.maxObjects ?? 200;
  const placementOf = (g: { primarySpId: number; secondarySpIds: number[] }) =>
    [{ index: -1, role: 'primary', spId: g.primarySpId }, ...g.secondarySpIds.map((spId, i) => ({ index: i, role: i < 4 ? 'data' : 'parity', spId }))];
  if (scope !== 'cluster') {
    // One node's view: the sealed objects of the groups it belongs to.
    for (const g of await chain.listGlobalVirtualGroups(scope)) {
      for (const o of await chain.objectsInGroup(g.id, { limit: max })) {
        if (view.objects.length >= max) break;
        if (!(await isPublic(o.bucketName, o.objectName))) {
          view.privateObjects++;
          continue;
        }
        view.objects.push({ bucket: o.bucketName, name: o.objectName, id: o.id.toString(), size: o.payloadSize.toString(), status: 'sealed', placement: placementOf(g) });
      }
    }
  }
  for (const owner of scope === 'cluster' ? opts.owners ?? [] : []) {
    for (const b of await chain.listBuckets(owner)) {
      for (const o of await chain.listObjects(b.name)) {
        if (view.objects.length >= max) break;
        if (!(await isPublic(b.name, o.objectName))) {
          view.privateObjects++;
          continue;
        }
        let g = groups.get(o.gvgId);
        if (!g && o.gvgId) {
          g = await chain.getGlobalVirtualGroup(o.gvgId);
          groups.set(o.gvgId, g);
        }
        const placement = g ? placementOf(g) : [];
        view.objects.push({ bucket: b.name, name: o.objectName, id: o.id.toString(), size: o.payloadSize.toString(), status: o.status, placement });
      }
    }
  }
  // One provider's newest jobs through the chain's executor index, not a page of everyone's filtered here.
  for (const j of await chain.listJobs(undefined, { limit: 100, ...(scope !== 'cluster' ? { executorSpId: scope } : {}) })) {
    if (scope !== 'cluster' && j.executorSpId !== scope) continue;
    view.jobs.push({
      id: j.id.toString(), mode: j.mode || 'whole', input: (await isPublic(j.bucket, j.object)) ? `${j.bucket}/${j.object}` : '(private object)', status: j.status, exitState: j.exitState, executorSpId: j.executorSpId,
      fuelUsed: str(j.fuelUsed), fee: str(j.fee), outputHash: j.outputHash, receiptSignature: j.receiptSignature,
    });
  }
  for (const owner of scope === 'cluster' ? opts.owners ?? [] : []) {
    const v = await chain.paymentView(owner).catch(() => null);
    for (const p of v ? [v, ...(v.paymentAccounts ?? [])] : []) {
      view.payers.push({
        address: p.address, owner: p.paymentAccount?.owner ?? null, balance: (p.staticBalance + p.bufferBalance).toString(), locked: p.lockBalance.toString(),
        perSecond: p.netflowRate.toString(), frozen: p.frozen, runsOutAt: p.runsOutAt === null ? null : p.runsOutAt.toString(),
      });
    }
  }
  view.swapIns = (await chain.swapIns()).map((s) => ({ successorSpId: s.successorSpId, targetSpId: s.targetSpId, gvgId: s.gvgId, familyId: s.familyId }));
  return view;
}

/** The page; `api` is the JSON view it polls. */
export function dashboardHtml(api: string, title: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${title}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
 body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5rem; color: #1d2330; background: #f7f8fa; }
 h1 { font-size: 1.3rem; margin: 0 0 .2rem } h2 { font-size: 1.05rem; margin: 1.4rem 0 .4rem }
 .meta { color: #5b6475 } table { border-collapse: collapse; width: 100%; background: #fff; }
 th, td { text-align: left; padding: .3rem .6rem; border-bottom: 1px solid #e3e6ec; font-variant-numeric: tabular-nums; }
 th { background: #eef0f4; font-weight: 600 } code { font-size: 12px }
 .up { color: #0a7d32; font-weight: 600 } .down { color: #b3261e; font-weight: 600 } .warn { color: #9a6700 }
 .pill { display: inline-block; padding: 0 .4rem; margin: 0 .15rem; border-radius: .6rem; background: #e8ecf7; font-size: 12px }
 .pill.primary { background: #d9f0e3 } .pill.parity { background: #f3e8d9 } .pill.gone { background: #f6d5d3 }
</style></head>
<body>
<h1>${title}</h1><div class="meta" id="meta">loading…</div>
<h2>Nodes</h2><table id="nodes"><thead><tr><th>id</th><th>node</th><th>health</th><th>chain status</th><th>pieces</th><th>objects</th><th>repairs ok / failed</th><th>rebuilding (queued)</th><th>missing (time to heal)</th><th>storage income (unsettled, per s)</th></tr></thead><tbody></tbody></table>
<h2>Repairs and swap-ins</h2><table id="repairs"><thead><tr><th>what</th><th>where</th><th>progress</th></tr></thead><tbody></tbody></table>
<h2>Objects</h2><div class="meta" id="private"></div><table id="objects"><thead><tr><th>object</th><th>size</th><th>status</th><th>pieces (index → node)</th></tr></thead><tbody></tbody></table>
<h2>Payments</h2><table id="payers"><thead><tr><th>account</th><th>balance (static + reserve)</th><th>locked</th><th>flow per second</th><th>status</th><th>runs out (chain time)</th></tr></thead><tbody></tbody></table>
<h2>Jobs</h2><table id="jobs"><thead><tr><th>id</th><th>mode</th><th>input</th><th>state</th><th>node</th><th>fuel</th><th>fee</th><th>output sha256</th><th>receipt signature</th></tr></thead><tbody></tbody></table>
<script>
const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]);
const short = (s) => (s && s.length > 18 ? s.slice(0, 10) + '…' + s.slice(-6) : s || '–');
const rows = (id, html) => { document.querySelector('#' + id + ' tbody').innerHTML = html.join('') || '<tr><td colspan="9" class="meta">none</td></tr>'; };
async function tick() {
  let v;
  try { v = await (await fetch(${JSON.stringify(api)}, { cache: 'no-store' })).json(); }
  catch (e) { document.getElementById('meta').textContent = 'cannot reach ' + ${JSON.stringify(api)} + ': ' + e.message; return; }
  const down = new Set(v.nodes.filter((n) => !n.up).map((n) => n.id));
  document.getElementById('meta').textContent = (v.chain.error ? 'chain unreachable: ' + v.chain.error : 'chain ' + v.chain.chainId + ' at height ' + v.chain.height)
    + ' · ' + v.nodes.filter((n) => n.up).length + ' of ' + v.nodes.length + ' nodes up · updated ' + new Date(v.at).toLocaleTimeString();
  rows('nodes', v.nodes.map((n) => '<tr data-node="' + n.id + '"><td>' + n.id + '</td><td>' + esc(n.moniker) + '<br><code>' + esc(n.endpoint) + '</code></td><td class="' + (n.up ? 'up">up' : 'down">down') + '</td><td class="' + (n.status === 'in-service' ? '' : 'warn') + '">' + esc(n.status) + '</td><td>' + (n.pieces ?? '–') + '</td><td>' + (n.objects ?? '–') + '</td><td>' + (n.repairsOk ?? '–') + ' / ' + (n.repairsFailed ?? '–') + '</td><td>' + (n.inProgress.length + n.swapsInProgress.length) + ' (' + (n.repairsQueued ?? 0) + ')</td><td class="' + (n.missing && n.missing.bytes > 0 ? 'warn' : '') + '">' + (!n.missing ? '–' : n.missing.state === 'checking' ? 'checking…' : n.missing.state === 'healing' ? (n.missing.bytes / 1048576).toFixed(1) + ' MiB in ' + n.missing.entries + ' · healing for ' + (n.missing.healMs / 1000).toFixed(1) + ' s' : 'none' + (n.missing.rebuiltBytes > 0 ? ' (rebuilt ' + (n.missing.rebuiltBytes / 1048576).toFixed(1) + ' MiB in ' + (n.missing.healMs / 1000).toFixed(1) + ' s)' : '')) + '</td><td>' + (n.income ? n.income.unsettled + ' (+' + n.income.perSecond + ')' : '–') + '</td></tr>'));
  const repairs = [];
  for (const n of v.nodes) {
    for (const r of n.inProgress) repairs.push('<tr><td>repair of object ' + esc(r.objectId) + ' index ' + r.index + ' (' + esc(r.reason) + ')</td><td>node ' + n.id + '</td><td>running</td></tr>');
    for (const s of n.swapsInProgress) repairs.push('<tr><td>swap-in for node ' + s.targetSpId + (s.familyId ? ' as primary of family ' + s.familyId : ' in group ' + s.gvgId) + '</td><td>node ' + n.id + '</td><td>' + s.done + ' of ' + s.objects + ' objects</td></tr>');
    for (const h of n.heals.slice(-5)) repairs.push('<tr><td>took over from node ' + h.targetSpId + ' in group ' + h.gvgId + '</td><td>node ' + n.id + '</td><td>done: ' + h.objects + ' objects, ' + h.bytes + ' B in ' + h.ms + ' ms</td></tr>');
  }
  for (const s of v.swapIns) repairs.push('<tr><td>reserved: node ' + s.successorSpId + ' replaces node ' + s.targetSpId + '</td><td>' + (s.familyId ? 'family ' + s.familyId : 'group ' + s.gvgId) + '</td><td>reserved</td></tr>');
  rows('repairs', repairs);
  if (v.privateObjects) document.getElementById('private').textContent = v.privateObjects + ' private object(s) not listed: this page shows only what anyone may read.';
  rows('objects', v.objects.map((o) => '<tr data-object="' + esc(o.bucket + '/' + o.name) + '"><td>' + esc(o.bucket + '/' + o.name) + '</td><td>' + o.size + '</td><td>' + esc(o.status) + '</td><td>' + o.placement.map((p) => '<span class="pill ' + (down.has(p.spId) ? 'gone' : p.role) + '">' + (p.index < 0 ? 'copy' : p.index) + ' → ' + p.spId + '</span>').join('') + '</td></tr>'));
  rows('payers', (v.payers || []).map((p) => '<tr data-payer="' + esc(p.address) + '"><td><code>' + esc(p.address) + '</code>' + (p.owner ? '<br><span class="meta">payment account of ' + esc(short(p.owner)) + '</span>' : '') + '</td><td>' + p.balance + '</td><td>' + p.locked + '</td><td>' + p.perSecond + '</td><td class="' + (p.frozen ? 'down">FROZEN' : 'up">active') + '</td><td>' + (p.runsOutAt === null ? '–' : (Number(p.runsOutAt) < 253402300799 ? new Date(Number(p.runsOutAt) * 1000).toISOString().slice(0, 16).replace('T', ' ') : 'beyond year 9999')) + '</td></tr>'));
  rows('jobs', v.jobs.map((j) => '<tr data-job="' + j.id + '"><td>' + j.id + '</td><td>' + esc(j.mode) + '</td><td>' + esc(j.input) + '</td><td>' + esc(j.status + (j.exitState ? ' (' + j.exitState + ')' : '')) + '</td><td>' + j.executorSpId + '</td><td>' + j.fuelUsed + '</td><td>' + j.fee + '</td><td><code>' + esc(short(j.outputHash)) + '</code></td><td><code>' + esc(short(j.receiptSignature)) + '</code></td></tr>'));
}
tick();
setInterval(tick, 1000);
</script>
</body></html>
`;
}
