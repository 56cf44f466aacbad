// The insitu CLI as a library: build the program in process (tests) or run it.
export { createProgram, run } from './program.ts';
export type { CliIO } from './io.ts';
