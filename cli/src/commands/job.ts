// insitu job init|run|reassign|provenance|status|output|ls|cancel|verify|dispute: WebAssembly jobs
// beside stored objects.

import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { Command } from 'commander';
import { InsituError, errorCodeOf } from '@insitu/protocol';
import type { CommandContext } from './context.ts';
import { collect } from '../parse.ts';
import { formatDate, table } from '../format.ts';
import { checkedModule } from '../job-modules.ts';
import { jobInitCommand } from './job-init.ts';

const parseBig = (v: string, what: string): bigint => {
  if (!/^\d+$/.test(v)) throw new InsituError('ERR_INVALID_ARGUMENT', `${what} must be a whole number, not "${v}"`);
  return BigInt(v);
};

export function jobCommand(ctx: CommandContext): Command {
  const { io, client, out, bnb } = ctx;
  const job = new Command('job').description('run WebAssembly jobs beside stored objects');
  job.addCommand(jobInitCommand(ctx));

  job.command('run').description('run a WASM job (WASI command) over an object, on a node that holds it; over <bucket>/<prefix>/ one map job per object, then --reduce')
    .argument('<module>', 'path to a .wasm module or component').argument('<target>', '<bucket>/<name> of the input object, or <bucket>/<prefix>/ for every object under it')
    .argument('[args...]', 'arguments for the job (after --)')
    .option('--max-fee <amount>', 'most the job may cost, in base units of BNB', '1000000000000000')
    .option('--fuel <n>', 'fuel limit', '10000000000')
    .option('--memory <MiB>', 'linear memory limit', '256')
    .option('--timeout <ms>', 'wall-clock limit', '60000')
    .option('--output-limit <bytes>', 'largest output kept', String(64 * 1024 * 1024))
    .option('--module-bucket <bucket>', 'bucket to store the module in (default: the input\'s)')
    .option('--env <NAME=value>', 'environment variable for the job (repeatable)', collect, [])
    .option('--side-input <bucket/name>', 'small object the job reads under /inputs/<name> (repeatable)', collect, [])
    .option('--parallel', 'map over the data pieces on the secondaries that hold them, then reduce (the job must support INSITU_PHASE)')
    .option('--max-price <amount>', 'run on a holder of the input charging at most this per unit of fuel (the chain picks)')
    .option('--cheapest', 'run on the cheapest holder of the input in service (the chain picks)')
    .option('--executor <spId>', 'run on this provider')
    .option('--offer <id>', 'run under a data offer (see insitu offer ls --all); its data fee is paid on top of --max-fee')
    .option('--output <bucket/name>', 'store the output as an object of yours, recorded on chain as made by this job')
    .option('--reduce <module>', 'over a prefix: run this module over the map outputs concatenated in object order')
    .option('--reduce-arg <arg>', 'argument of the reduce (repeatable; default: the maps\' arguments)', collect, [])
    .option('--work-bucket <bucket>', 'over a prefix: your bucket for the module and the maps\' outputs (default: --output\'s, else --module-bucket\'s)')
    .option('--spare-maps <n>', 'over a prefix: map attempts beyond one per object escrowed for retries (default: a quarter of the objects, at least 1)')
    .option('--quiet', 'print only the output')
    .action(async (module: string, target: string, args: string[], o: Record<string, string | boolean | string[]>) => {
      const c = await client();
      const env: Record<string, string> = {};
      for (const e of o.env as string[]) {
        const eq = e.indexOf('=');
        if (eq <= 0) throw new InsituError('ERR_INVALID_ARGUMENT', `--env takes NAME=value, not "${e}"`);
        env[e.slice(0, eq)] = e.slice(eq + 1);
      }
      const sideInputs = o.sideInput as string[];
      const market = {
        ...(o.maxPrice !== undefined ? { maxComputePrice: parseBig(String(o.maxPrice), '--max-price') } : {}),
        ...(o.cheapest ? { cheapest: true } : {}),
        ...(o.offer !== undefined ? { offerId: parseBig(String(o.offer), '--offer') } : {}),
        ...(o.output ? { output: String(o.output) } : {}),
      };
      if (o.executor !== undefined && !/^[1-9]\d{0,9}$/.test(String(o.executor))) throw new InsituError('ERR_INVALID_ARGUMENT', `--executor takes a provider id, not "${String(o.executor)}"`);
      // A module no node could run is refused here, before a fee is escrowed for it.
      const memoryMiB = Number(o.memory);
      const memory = Number.isFinite(memoryMiB) && memoryMiB > 0 ? { memoryMiB } : {};
      await checkedModule(io.cwd, module, memory);
      if (o.reduce) await checkedModule(io.cwd, String(o.reduce), memory);
      if (target.endsWith('/') || o.reduce) {
        if (o.parallel || o.executor !== undefined) throw new InsituError('ERR_INVALID_ARGUMENT', 'a job over a prefix picks a holder per object: --parallel and --executor apply to single objects');
        const reduceArgs = o.reduceArg as string[];
        const run = await c.jobs.dataset({
          module, input: target, args, env, ...market,
          ...(sideInputs.length ? { sideInputs } : {}),
          ...(o.reduce ? { reduce: String(o.reduce) } : {}),
          ...(reduceArgs.length ? { reduceArgs } : {}),
          ...(o.workBucket ? { workBucket: String(o.workBucket) } : {}),
          ...(o.spareMaps !== undefined ? { spareMaps: Number(parseBig(String(o.spareMaps), '--spare-maps')) } : {}),
          maxFee: parseBig(String(o.maxFee), '--max-fee'),
          limits: { fuel: parseBig(String(o.fuel), '--fuel'), memoryMiB: Number(o.memory), timeoutMs: Number(o.timeout), outputBytes: Number(o.outputLimit) },
          ...(o.moduleBucket ? { moduleBucket: String(o.moduleBucket) } : {}),
        });
        const p = out();
        const text = Buffer.from(run.output).toString('utf8');
        if (p.json) {
          const r = run.run;
          p.result({ succeeded: run.succeeded,
            run: { id: r.id, status: r.status, objects: r.objects.length, escrowed: r.escrowed, mapFee: r.mapFee, spareMaps: r.spareMaps, reduceFee: r.reduceFee, dataFees: r.dataFees, refunded: r.refunded, resultJob: r.resultJob, jobs: r.jobs },
            maps: run.maps.map((m) => ({ object: m.object, job: m.id, attempts: m.attempts, executor: m.executor.id, receipt: m.receipt, signature: m.signature })),
            reduce: run.reduce ? { job: run.reduce.id, executor: run.reduce.executor.id, receipt: run.reduce.receipt } : null, abandoned: run.abandoned,
            stored: run.stored ? { bucket: run.stored.bucketName, object: run.stored.objectName } : null, output: text }, '');
        } else {
          if (!o.quiet) {
            // One run, one escrow: what it escrowed, each map's receipt, the reduce, and what came back.
            const r = run.run;
            io.stderr.write(`run ${r.id} over ${r.bucket}/${r.prefix}: ${r.objects.length} object(s), escrow ${r.escrowed} (map fee ${r.mapFee} × ${r.objects.length} + ${r.spareMaps} spare${r.reduceFee ? `, reduce fee ${r.reduceFee}` : ''}${r.dataFees ? `, data fees ${r.dataFees}` : ''})\n`);
            const receipt = (x: { receipt: { state: string; code: string | null; fuelUsed: string; outputHash: string } }): string =>
              `${x.receipt.state}${x.receipt.code ? ` (${x.receipt.code})` : ''}, fuel ${x.receipt.fuelUsed}, output ${x.receipt.outputHash}`;
            for (const m of run.maps) io.stderr.write(`map ${m.id} over ${m.object} on provider ${m.executor.id}: ${receipt(m)}${m.attempts.length > 1 ? `, after ${m.attempts.length - 1} other attempt(s)` : ''}\n`);
            if (run.reduce) io.stderr.write(`reduce ${run.reduce.id} on provider ${run.reduce.executor.id}: ${receipt(run.reduce)}\n`);
            io.stderr.write(`run ${r.id} ${r.status === 'done' ? `done: result of job ${r.resultJob}` : r.status}; ${r.refunded} of the escrow came back${r.escrowed > r.mapFee * BigInt(r.objects.length + r.spareMaps) + r.reduceFee + r.dataFees ? ' (the run was topped up for retries)' : ''}\n`);
            if (run.abandoned.length) io.stderr.write(`jobs ${run.abandoned.join(', ')} were left on providers that did not answer: insitu job cancel <id> returns their escrow after the chain's deadline\n`);
            if (run.stored) io.stderr.write(`stored as ${run.stored.bucketName}/${run.stored.objectName}\n`);
          }
          io.stdout.write(run.output);
        }
        if (!run.succeeded) {
          const bad = run.reduce && run.reduce.receipt.state !== 'succeeded' ? run.reduce : run.maps.find((m) => m.receipt.state !== 'succeeded')!;
          throw new InsituError(errorCodeOf(bad.receipt.code, 'ERR_JOB_TRAP'), `job ${bad.id} ${bad.receipt.state === 'rejected' ? 'was refused by its node' : 'failed'}: ${bad.receipt.code}`);
        }
        return;
      }
      const run = await c.jobs.submit({
        ...market,
        ...(o.executor !== undefined ? { executorSpId: Number(o.executor) } : {}),
        module, input: target, args, env,
        ...(sideInputs.length ? { sideInputs } : {}),
        ...(o.parallel ? { parallel: true } : {}),
        maxFee: parseBig(String(o.maxFee), '--max-fee'),
        limits: { fuel: parseBig(String(o.fuel), '--fuel'), memoryMiB: Number(o.memory), timeoutMs: Number(o.timeout), outputBytes: Number(o.outputLimit) },
        ...(o.moduleBucket ? { moduleBucket: String(o.moduleBucket) } : {}),
      });
      const job = await c.jobs.get(run.id);
      const output = run.receipt.state === 'succeeded' ? await c.jobs.output(run.id) : new Uint8Array();
      const p = out();
      if (p.json) p.result({ job, receipt: run.receipt, signature: run.signature, output: Buffer.from(output).toString('utf8') }, '');
      else {
        if (!o.quiet) {
          for (const [i, m] of (run.maps ?? []).entries()) {
            io.stderr.write(`map ${m.id} of data piece ${i} on provider ${m.executor.id}: ${m.receipt.state}${m.receipt.code ? ` (${m.receipt.code})` : ''}, fuel ${m.receipt.fuelUsed}\n`);
          }
          io.stderr.write(`${run.maps?.every((m) => m.id !== run.id) ? 'reduce ' : ''}job ${run.id} on provider ${run.executor.id}: ${run.receipt.state}${run.receipt.code ? ` (${run.receipt.code})` : ''}, fuel ${run.receipt.fuelUsed}, fee ${job.fee}${job.dataFee ? ` + data fee ${job.dataFee}` : ''}, output ${run.receipt.outputBytes} bytes sha256 ${run.receipt.outputHash}\n`);
          if (run.stored) io.stderr.write(`stored as ${run.stored.bucketName}/${run.stored.objectName}\n`);
          if (run.receipt.stderrTail) io.stderr.write(`--- job stderr ---\n${run.receipt.stderrTail}\n`);
        }
        io.stdout.write(output);
      }
      if (run.receipt.state === 'rejected') throw new InsituError(errorCodeOf(run.receipt.code, 'ERR_JOB_INVALID_MODULE'), `job ${run.id}: the node refused the module (${run.receipt.code}); the escrow came back but a small fee for checking it`);
      if (run.receipt.state !== 'succeeded') throw new InsituError(errorCodeOf(run.receipt.code, 'ERR_JOB_TRAP'), `job ${run.id} failed: ${run.receipt.code}`);
    });

  job.command('cancel').argument('<id>').description('take back the escrow of a job no provider acknowledged (a running job cannot be cancelled)').action(async (id: string) => {
    const c = await client();
    const tx = await c.jobs.cancel(parseBig(id, 'job id'));
    out().result(tx, `cancelled job ${id}; its maximum fee is refunded`);
  });

  job.command('reassign').argument('<id>').description('move a job its provider did not run in time to another provider holding the input (the escrow stays) and run it there')
    .option('--executor <spId>', 'to this provider').option('--max-price <amount>', 'to a holder charging at most this per unit of fuel (default: the price it was submitted at)')
    .action(async (id: string, o: { executor?: string; maxPrice?: string }) => {
      const c = await client();
      if (o.executor !== undefined && !/^[1-9]\d{0,9}$/.test(o.executor)) throw new InsituError('ERR_INVALID_ARGUMENT', `--executor takes a provider id, not "${o.executor}"`);
      const r = await c.jobs.reassign(parseBig(id, 'job id'), { ...(o.executor ? { executorSpId: Number(o.executor) } : {}), ...(o.maxPrice !== undefined ? { maxComputePrice: parseBig(o.maxPrice, '--max-price') } : {}) });
      const run = await c.jobs.start(parseBig(id, 'job id'));
      out().result({ executorSpId: r.executorSpId, computePrice: r.computePrice, receipt: run.receipt }, `job ${id} moved to provider ${r.executorSpId} at ${r.computePrice} per unit of fuel: ${run.receipt.state}${run.receipt.code ? ` (${run.receipt.code})` : ''}, fuel ${run.receipt.fuelUsed}`);
    });

  job.command('provenance').argument('<target>', '<bucket>/<name> of a stored object').description('the job recorded as the maker of an object: module, input and its checksums, receipt')
    .action(async (target: string) => {
      const c = await client();
      const at = target.indexOf('/');
      if (at <= 0) throw new InsituError('ERR_INVALID_ARGUMENT', `"${target}" must be <bucket>/<name>`);
      const p = await c.jobs.provenance(target.slice(0, at), target.slice(at + 1));
      out().result(p, p ? `${target} is the output of job ${p.jobId} (${p.status}${p.checked ? ', checksum matched on chain' : ''})\nmodule   ${p.moduleHash}\ninput    ${p.input.bucket}/${p.input.object} ${p.input.checksums[0] ?? ''}\nprovider ${p.executorSpId}` : `${target} has no recorded maker`);
    });

  job.command('status').argument('<id>').description('a job as the chain records it').action(async (id: string) => {
    const c = await client();
    const j = await c.jobs.get(parseBig(id, 'job id'));
    const held = j.releaseAt ? ` (held until ${new Date(j.releaseAt).toISOString()}; disputable until then)` : '';
    const d = j.dispute;
    const dispute = d ? `\ndispute  ${d.outcome}: verifiers ${d.verifiers.join(', ')}, ${d.votes.filter((v) => v.agree).length} agree, ${d.votes.filter((v) => !v.agree).length} disagree${d.slashed ? `, provider slashed ${d.slashed}` : ''}` : '';
    out().result(j, `job ${j.id}: ${j.status}${j.exitState ? ` (${j.exitState})` : ''}\ninput    ${j.bucket}/${j.object}\nmodule   ${j.moduleHash}\nfuel     ${j.fuelUsed} of ${j.fuelLimit}\nfee      ${j.fee} of max ${j.maxFee}${j.computePrice !== undefined ? ` at ${j.computePrice} per unit of fuel` : ''}${j.offerId ? ` + data fee ${j.dataFee ?? 0n} under offer ${j.offerId}` : ''}${j.runId ? `, from dataset run ${j.runId}'s escrow` : ''}${held}\noutput   ${j.outputHash || '-'} (${j.outputBytes ?? 0} of at most ${j.outputCap ?? '-'} bytes)\nprovider ${j.executorSpId}${dispute}`);
  });

  job.command('output').argument('<id>').argument('[file]', 'write it here instead of stdout').description('the output of a job, checked against the hash on chain').action(async (id: string, file?: string) => {
    const c = await client();
    const output = await c.jobs.output(parseBig(id, 'job id'));
    if (!file) {
      io.stdout.write(output);
      return;
    }
    const path = resolve(io.cwd, file);
    await writeFile(path, output);
    out().result({ job: id, bytes: output.length, file: path }, `wrote ${output.length} bytes of job ${id}'s output to ${file}`);
  });

  job.command('verify').argument('<id>').description('re-run a job on another node holding the data and compare the receipts')
    .action(async (id: string) => {
      const c = await client();
      const v = await c.jobs.verify(parseBig(id, 'job id'));
      out().result({ match: v.match, original: v.original, replay: v.replay.receipt, replayJob: v.replay.id },
        `${v.match ? 'verified' : 'MISMATCH'}: job ${id} on provider ${v.original.executorSpId} and job ${v.replay.id} on provider ${v.replay.executor.id}\n` +
        `output ${v.original.outputHash} / ${v.replay.receipt.outputHash}\nfuel   ${v.original.fuelUsed} / ${v.replay.receipt.fuelUsed}`);
      if (!v.match) throw new InsituError('ERR_CHECKSUM_MISMATCH', `the re-run of job ${id} differs from the original`);
    });

  job.command('dispute').argument('<id>').description('dispute a settled job\'s receipt (puts up the dispute bond): other providers holding the data re-run it and the majority decides')
    .option('--no-wait', 'return once the dispute is opened instead of waiting for its outcome')
    .action(async (id: string, o: { wait: boolean }) => {
      const c = await client();
      const j = await c.jobs.dispute(parseBig(id, 'job id'), { wait: o.wait });
      const d = j.dispute!;
      const votes = d.votes.map((v) => `provider ${v.spId}: ${v.agree ? 'agrees' : 'DISAGREES'} (output ${v.outputHash.slice(0, 16)}…, fuel ${v.fuelUsed})`).join('\n');
      const what = d.outcome === 'receipt-wrong' ? `receipt overturned: provider ${j.executorSpId} slashed ${d.slashed}, fee ${j.fee} refunded, bond returned with a reward`
        : d.outcome === 'receipt-upheld' ? `receipt upheld: the bond of ${d.bond} went to the verifiers and the provider`
          : d.outcome === 'inconclusive' ? 'no majority: the bond is returned' : `open: verifiers ${d.verifiers.join(', ')} re-run it until ${new Date(d.deadline).toISOString()}`;
      out().result(j, `job ${id} disputed — ${what}${votes ? `\n${votes}` : ''}`);
    });

  job.command('ls').description('your jobs, newest first').action(async () => {
    const c = await client();
    const list = await c.jobs.list();
    out().result(list, list.length
      ? table(['ID', 'STATUS', 'EXIT', 'INPUT', 'PROVIDER', 'FEE', 'SUBMITTED'], list.map((j) => [j.id, j.status, j.exitState || '-', `${j.bucket}/${j.object}`, j.executorSpId, bnb(j.fee), formatDate(j.submittedAt)]), { right: [0, 4] })
      : '(no jobs)');
  });
  return job;
}
