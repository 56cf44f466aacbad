// The insitu storage node.
export { createStorageNode, type StorageNode, type StorageNodeOptions } from './node.ts';
export { DEFAULT_RECOVERY, type RecoveryOptions, type RecoveryStatus } from './recovery/index.ts';
export { createFsPieceStore, INLINE_BYTES } from './store/fs.ts';
export { createMemoryPieceStore } from './store/memory.ts';
export type { PieceStore, PieceKey, PieceMeta, PieceWriter } from './store/types.ts';
export type { Logger } from './context.ts';
export { clusterView, dashboardHtml, type ClusterView } from './dashboard.ts';
