#!/usr/bin/env node
// Installs the pinned CometBFT release for the replicated chain from its Go module:
//   go install github.com/cometbft/cometbft/cmd/cometbft@<version>
// into a cache directory (default ~/.cache/insitu/cometbft/<version>, or $INSITU_COMETBFT_CACHE),
// skipped when that version is already there. Prints the binary's path.
// Without Go it says so and exits 0, unless --require (or INSITU_REQUIRE_COMETBFT=1) is given:
// then a missing CometBFT is an error, as CI wants.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

export const COMETBFT_VERSION = 'v0.38.25';
const required = process.argv.includes('--require') || process.env.INSITU_REQUIRE_COMETBFT === '1';
const quiet = process.argv.includes('--quiet');
const dir = process.env.INSITU_COMETBFT_CACHE ?? join(homedir(), '.cache', 'insitu', 'cometbft', COMETBFT_VERSION);
const bin = join(dir, 'cometbft');
const say = (s) => quiet || process.stderr.write(`${s}\n`);

const versionOf = (path) => {
  const r = spawnSync(path, ['version'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
};

if (existsSync(bin) && versionOf(bin) === COMETBFT_VERSION.slice(1)) {
  say(`cometbft ${COMETBFT_VERSION} already installed`);
  process.stdout.write(`${bin}\n`);
  process.exit(0);
}
const go = spawnSync('go', ['version'], { encoding: 'utf8' });
if (go.status !== 0) {
  say(`Go is not installed: cometbft ${COMETBFT_VERSION} was not installed and the replicated-mode tests will be skipped`);
  process.exit(required ? 1 : 0);
}
mkdirSync(dir, { recursive: true });
say(`installing cometbft ${COMETBFT_VERSION} with ${go.stdout.trim()} into ${dir} (a few minutes the first time)`);
const r = spawnSync('go', ['install', `github.com/cometbft/cometbft/cmd/cometbft@${COMETBFT_VERSION}`], {
  stdio: ['ignore', 'inherit', 'inherit'],
  env: { ...process.env, GOBIN: dir, CGO_ENABLED: '0' },
});
if (r.status !== 0 || versionOf(bin) !== COMETBFT_VERSION.slice(1)) {
  say(`go install of cometbft ${COMETBFT_VERSION} failed`);
  process.exit(required ? 1 : 0);
}
process.stdout.write(`${bin}\n`);
