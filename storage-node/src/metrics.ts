// A node's metrics in Prometheus' text format (GET /metrics): requests, bytes, latencies, what
// it holds, job outcomes and fuel, scrubbing, repairs and swap-ins. One registry per node, so
// several nodes in one process (the tests' testnet) keep their own counts.

import { Registry, Counter, Gauge, Histogram } from 'prom-client';
import type { PieceStore } from './store/types.ts';
import { holdingsOf } from './store/holdings.ts';

export interface NodeMetrics {
  registry: Registry;
  requests: Counter<'route' | 'method' | 'status'>;
  latency: Histogram<'route' | 'method'>;
  bytesIn: Counter<'route'>;
  bytesOut: Counter<'route'>;
  jobs: Counter<'mode' | 'outcome'>;
  jobFuel: Counter;
  jobSeconds: Histogram<'mode'>;
  scrubPieces: Counter<'result'>;
  repairs: Counter<'result'>;
  repairBytes: Counter;
  repairsInProgress: Gauge;
  swapIns: Counter;
  healSeconds: Histogram;
  /** Connections and requests a node's limits turned away, by reason. */
  refused: Counter<'reason'>;
}

/** The route label: the endpoint's shape, never an object name or an id. */
export function routeOf(method: string, path: string): string {
  if (['/healthz', '/readyz', '/status', '/metrics', '/dashboard', '/dashboard/api'].includes(path)) return path;
  if (path.startsWith('/greenfield/') || path === '/insitu/v1/piece' || path === '/insitu/v1/piece-hashes' || path === '/insitu/v1/replicate-pieces') return path;
  if (/^\/insitu\/v1\/jobs\/\d+\/output$/.test(path)) return '/insitu/v1/jobs/:id/output';
  if (/^\/insitu\/v1\/jobs\/\d+$/.test(path)) return '/insitu/v1/jobs/:id';
  if (path.startsWith('/insitu/')) return 'other';
  return method === 'PUT' ? 'put-object' : method === 'GET' ? 'get-object' : 'other';
}

export function createNodeMetrics(store: PieceStore): NodeMetrics {
  const registry = new Registry();
  const registers = [registry];
  new Gauge({
    name: 'insitu_pieces_held', help: 'Committed entries this node holds (primary copies and pieces).', registers,
    async collect() {
      this.set((await holdingsOf(store)).entries);
    },
  });
  new Gauge({
    name: 'insitu_bytes_held', help: 'Bytes of the committed entries this node holds.', registers,
    async collect() {
      this.set((await holdingsOf(store)).bytes);
    },
  });
  new Gauge({
    name: 'insitu_disk_free_bytes', help: 'Free bytes on the data directory\'s disk (uploads are refused below insitu_disk_reserve_bytes).', registers,
    async collect() {
      const s = await store.space?.().catch(() => undefined);
      if (s) this.set(s.free);
    },
  });
  new Gauge({
    name: 'insitu_disk_reserve_bytes', help: 'Bytes the node keeps free on its data directory\'s disk.', registers,
    async collect() {
      const s = await store.space?.().catch(() => undefined);
      if (s) this.set(s.reserve);
    },
  });
  return {
    registry,
    refused: new Counter({ name: 'insitu_http_refused_total', help: 'Connections and requests turned away by the node\'s limits, by reason (connections, slow-body).', labelNames: ['reason'], registers }),
    requests: new Counter({ name: 'insitu_http_requests_total', help: 'HTTP requests by route, method and status.', labelNames: ['route', 'method', 'status'], registers }),
    latency: new Histogram({
      name: 'insitu_http_request_duration_seconds', help: 'Time from request to the end of the response.', labelNames: ['route', 'method'], registers,
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    }),
    bytesIn: new Counter({ name: 'insitu_http_bytes_received_total', help: 'Request body bytes received.', labelNames: ['route'], registers }),
    bytesOut: new Counter({ name: 'insitu_http_bytes_sent_total', help: 'Response bytes sent.', labelNames: ['route'], registers }),
    jobs: new Counter({ name: 'insitu_jobs_total', help: 'Jobs run by mode (whole, map, reduce) and outcome (succeeded or the error code).', labelNames: ['mode', 'outcome'], registers }),
    jobFuel: new Counter({ name: 'insitu_job_fuel_total', help: 'Fuel charged for the jobs this node ran.', registers }),
    jobSeconds: new Histogram({ name: 'insitu_job_duration_seconds', help: 'Wall time of a job request, loading included.', labelNames: ['mode'], registers, buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 10, 60, 600] }),
    scrubPieces: new Counter({ name: 'insitu_scrub_pieces_total', help: 'Entries checked by scrubbing, by result (ok, corrupt, missing).', labelNames: ['result'], registers }),
    repairs: new Counter({ name: 'insitu_repairs_total', help: 'Entries rebuilt, by result (ok, failed).', labelNames: ['result'], registers }),
    repairBytes: new Counter({ name: 'insitu_repair_bytes_total', help: 'Bytes written by repairs and swap-ins.', registers }),
    repairsInProgress: new Gauge({ name: 'insitu_repairs_in_progress', help: 'Rebuilds running now.', registers }),
    swapIns: new Counter({ name: 'insitu_swap_ins_total', help: 'Places taken over from providers that left.', registers }),
    healSeconds: new Histogram({ name: 'insitu_heal_seconds', help: 'Time from reserving a swap-in to completing it.', registers, buckets: [1, 5, 15, 60, 300, 900, 3600] }),
  };
}
