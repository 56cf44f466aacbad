// The node's recovery (repair queue, start-up check, scrubbing, probes, swap-ins, unsealed-data
// collection): one file per activity under recovery/; this is its entry point.
export * from './recovery/index.ts';
