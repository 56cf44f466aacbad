import test from 'ava';
import { createRequire } from 'node:module';
import { prepareModule, ALLOWED_IMPORTS } from '../src/component.ts';
import { CAT } from './fixtures.ts';

const require = createRequire(import.meta.url);
type Wabt = { parseWat(name: string, text: string): { toBinary(o: object): { buffer: Uint8Array }; destroy(): void } };
let wabt: Wabt;
test.before(async () => {
  wabt = await (require('wabt') as () => Promise<Wabt>)();
});
const wat = (text: string): Uint8Array => wabt.parseWat('t.wat', text).toBinary({}).buffer;

const code = async (p: Promise<unknown>): Promise<string | undefined> => {
  try {
    await p;
    return undefined;
  } catch (e) {
    return (e as { code?: string }).code;
  }
};

test('a preview1 command is wrapped into a component whose imports are all in the job interface', async (t) => {
  const prepared = await prepareModule(wat(CAT));
  t.is(prepared.kind, 'core');
  t.regex(prepared.hash, /^[0-9a-f]{64}$/);
  t.true(prepared.imports.length > 0);
  for (const i of prepared.imports) t.true(ALLOWED_IMPORTS.has(i), i);
  t.true(Object.keys(prepared.coreModules).length >= 2);
  t.regex(prepared.glue, /export function instantiate\(getCoreModule, imports, instantiateCore/);
});

test('modules outside the interface are refused before they run', async (t) => {
  t.is(await code(prepareModule(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]))), 'ERR_JOB_INVALID_MODULE');
  t.is(await code(prepareModule(wat('(module (memory 1))'))), 'ERR_JOB_NO_ENTRYPOINT');
  t.is(await code(prepareModule(wat('(module (import "env" "socket" (func)) (func (export "_start")))'))), 'ERR_JOB_FORBIDDEN_IMPORT');
  const truncated = wat(CAT).subarray(0, 40);
  t.is(await code(prepareModule(truncated)), 'ERR_JOB_INVALID_MODULE');
});

test('components that import anything outside the job interface, or do not export wasi:cli/run, are refused', async (t) => {
  const jco = (await import('@bytecodealliance/jco')) as unknown as {
    componentEmbed(o: { dummy: boolean; witSource: string }): Promise<Uint8Array>;
    componentNew(core: Uint8Array, adapters: [string, Uint8Array][]): Promise<Uint8Array>;
  };
  const build = async (world: string) => jco.componentNew(await jco.componentEmbed({ dummy: true, witSource: `package test:job;\n${world}` }), []);
  const network = await build('interface socket { connect: func(host: string) -> u32; }\nworld job { import socket; export wasi:cli/run@0.2.0; }\npackage wasi:cli@0.2.0 { interface run { run: func() -> result; } }');
  const e = await t.throwsAsync(prepareModule(network));
  t.is((e as { code?: string }).code, 'ERR_JOB_FORBIDDEN_IMPORT');
  t.regex((e as Error).message, /test:job\/socket/);
  const library = await build('interface lib { f: func() -> u32; }\nworld job { export lib; }');
  t.is(await code(prepareModule(library)), 'ERR_JOB_NO_ENTRYPOINT', 'a component that is not a command');
});
