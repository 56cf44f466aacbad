#!/usr/bin/env node
// The insitu command: loads the TypeScript sources through tsx and runs the CLI.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/bin.ts');
process.exitCode = await main(process.argv);
