// The dashboard in a real browser: headless Debian Chromium driven by playwright-core opens a
// node's dashboard, finds the cluster it serves (nodes, objects with their pieces, the job with
// its receipt), sees a stopped node turn "down" live, and takes a screenshot of it.

import test from 'ava';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { createTestnet } from '../src/testnet.ts';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

test('a node\'s dashboard shows the cluster live in headless Chromium', async (t) => {
  if (!existsSync(CHROMIUM)) t.fail(`Chromium is needed at ${CHROMIUM} (Debian: apt-get install chromium; .ci/run installs it)`);
  const net = await createTestnet({ nodes: 7, accounts: 1 });
  // Playwright starts it headless with a fresh, empty profile of its own.
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  t.teardown(async () => {
    await browser.close();
    await net.stop();
  });
  const alice = await net.client();
  await alice.buckets.create('dash', { visibility: 'public-read' }); // a node's dashboard names only what anyone may read
  await alice.objects.put('dash', 'readings.csv', Buffer.from('id,v\n1,2\n3,4\n'));
  const run = await alice.jobs.submit({ module: await readFile(new URL('../../wasm-jobs/build/wc.wasm', import.meta.url)), input: 'dash/readings.csv', maxFee: 10n ** 16n });
  const head = await alice.objects.head('dash', 'readings.csv');
  const primary = head.placement[0]!;

  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await page.goto(`${primary.endpoint}/dashboard`);
  await page.waitForSelector('tr[data-object="dash/readings.csv"]');
  t.is(await page.locator('#nodes tbody tr').count(), 7);
  t.is(await page.locator('#nodes td.up').count(), 7);
  t.regex(await page.locator(`tr[data-node="${primary.spId}"]`).innerText(), /\d+ \(\+[1-9]\d*\)/, 'the primary earns for storing');
  const pieces = await page.locator('tr[data-object="dash/readings.csv"] .pill').allInnerTexts();
  t.deepEqual(pieces, head.placement.map((p) => `${p.index < 0 ? 'copy' : p.index} → ${p.spId}`), 'where every piece lives');
  const job = page.locator(`tr[data-job="${run.id}"]`);
  await job.waitFor();
  const jobText = await job.innerText();
  t.regex(jobText, /settled/);
  t.true(jobText.includes(run.receipt.fuelUsed), 'fuel from the receipt');
  t.true(jobText.includes(run.signature.slice(0, 10)), 'the receipt signature');

  // Live: a node stopped shows as down without a reload.
  const victim = head.placement[3]!.spId;
  await net.stopNode(victim - 1);
  await page.waitForSelector(`tr[data-node="${victim}"] td.down`, { timeout: 15_000 });
  t.regex(await page.locator('#meta').innerText(), /6 of 7 nodes up/);
  t.regex(await page.locator('tr[data-object="dash/readings.csv"] .pill.gone').innerText(), new RegExp(`→ ${victim}$`));

  // The screenshot renders the cluster: far more than an empty page of the same size.
  const shot = await page.screenshot({ fullPage: true });
  const blank = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await blank.setContent('<html><body style="background:#f7f8fa"></body></html>');
  const empty = await blank.screenshot({ fullPage: true });
  t.is(shot.subarray(1, 4).toString(), 'PNG');
  t.true(shot.readUInt32BE(16) >= 1280 && shot.readUInt32BE(20) >= 900, 'the full page');
  t.true(shot.length > 8 * empty.length, `rendered ${shot.length} bytes against ${empty.length} for an empty page`);
  const file = join(tmpdir(), `insitu-dashboard-${process.pid}.png`);
  await writeFile(file, shot);
  t.log(`screenshot: ${file}`);
});
