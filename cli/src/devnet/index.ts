// The devnet as a library: planning one (keys, ports, genesis), running it under the supervisor,
// and the recovery flags the devnet passes to its nodes. Tests and benchmarks start devnets
// through this entry point.
export { planDevnet, freePort, DEVNET_BALANCE, type DevnetPlan, type PlannedNode, type PlannedAccount } from './plan.ts';
export { devnetUp, type Devnet, type ProcessStatus } from './supervisor.ts';
export { recoveryFlags, recoveryOptions, recoveryArgs } from './recovery-flags.ts';
