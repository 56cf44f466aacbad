// The job executor: runs WebAssembly jobs (preview1 modules and components) in worker threads with
// fuel, memory and output limits. The storage node builds on this entry point alone.
export {
  createJobRuntime, DEFAULT_CACHE_BYTES, DEFAULT_MAX_MODULE_BYTES,
  type JobRuntime, type JobRuntimeOptions, type JobLimits, type JobInput, type JobSpec, type JobResult, type PreparedJob,
} from './runtime.ts';
export { checkModule, type CheckedModule } from './check.ts';
