#!/usr/bin/env node
// The insitu command. An installed CLI runs its built JavaScript (dist/), with no TypeScript
// tooling at run time. Inside the repository, where the TypeScript sources sit beside this file,
// it runs them through tsx instead, so an edit applies without a build; a small resolve hook adds
// the insitu-source condition so the other workspaces resolve to their sources as well.
// `insitu --version` alone answers from package.json without loading the command tree.
import { existsSync, readFileSync } from 'node:fs';

const args = process.argv.slice(2);
if (args.length === 1 && (args[0] === '--version' || args[0] === '-V')) {
  process.stdout.write(`${JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version}\n`);
} else {
  const source = new URL('../src/bin.ts', import.meta.url);
  let main;
  if (existsSync(source)) {
    const { register } = await import('node:module');
    const hook = `export async function resolve(specifier, context, next) {
      return next(specifier, context.conditions.includes('insitu-source') ? context : { ...context, conditions: [...context.conditions, 'insitu-source'] });
    }`;
    register(`data:text/javascript,${encodeURIComponent(hook)}`);
    const tsx = await import('tsx/esm/api');
    tsx.register();
    ({ main } = await import(source.href));
  } else {
    ({ main } = await import('../dist/bin.js'));
  }
  process.exitCode = await main(process.argv);
}
