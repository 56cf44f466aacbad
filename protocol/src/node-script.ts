// How to start a Node process that runs one of insitu's programs (the chain, a storage node). A
// built package runs its JavaScript as it is; inside the repository the program is a TypeScript
// source and runs through tsx with the insitu-source condition, so that its imports of the other
// workspaces reach their sources too. tsx is looked up only then: installed packages never need it.

/** Node arguments that run `file` (an absolute path): itself, or tsx and the source condition. */
export function nodeScriptArgs(file: string): string[] {
  if (!file.endsWith('.ts')) return [file];
  return ['--import', import.meta.resolve('tsx'), '--conditions=insitu-source', file];
}
