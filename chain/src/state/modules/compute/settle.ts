// The executor's side of a job on chain: it acknowledges the job when it starts it (from then on
// the submitter cannot cancel), and settles it with its signed receipt. Settlement checks what the
// chain can check without re-running the job — the receipt is for this job, signed by the
// executing provider's registered operator key over the receipt digest, its fuel within the
// job's limit, its output hash well-formed and its output within the job's cap — and holds the
// fee for the dispute window. A receipt of a refused module (state 'rejected') ends the job with
// a small fee for the node's work and the rest of the escrow returned.

import { recoverAddress, fromHex, sameAddress } from '@insitu/protocol';
import { parseReceipt, receiptDigest, exitStateOf, type JobReceipt } from '@insitu/protocol';
import { fail, emit, type MsgHandler } from '../../context.ts';
import type { KV } from '../../store.ts';
import { big } from '../../../gnfd.ts';
import { providerByOperator, type ProviderRecord } from '../providers.ts';
import { getObjectById } from '../storage-records.ts';
import { computeParams, getJob, releaseKey, saveJob, type JobRecord } from './records.ts';
import { dataFeeHeld } from './held.ts';
import { getOffer, offerAllowsModule } from '../offers.ts';
import { giveBack, finishRunWith } from './runs.ts';

/** The job's record and the provider behind the signer, which must be the job's executor. */
async function executorsJob(kv: KV, signer: string, id: bigint): Promise<{ job: JobRecord; sp: ProviderRecord }> {
  const job = await getJob(kv, id);
  if (!job) return fail('ERR_NOT_FOUND', `no job ${id}`);
  const sp = await providerByOperator(kv, signer);
  if (!sp || sp.id !== job.executorSpId) return fail('ERR_PERMISSION_DENIED', `only the executing provider (${job.executorSpId}) may acknowledge or settle job ${id}`);
  return { job, sp };
}

export const msgAckJob: MsgHandler = async (ctx, msg) => {
  const id = big(msg.jobId);
  const { job, sp } = await executorsJob(ctx.kv, ctx.signer, id);
  if (job.status !== 'submitted') fail('ERR_INVALID_ARGUMENT', `job ${id} is already ${job.status}`);
  Object.assign(job, { status: 'running', ackedAt: ctx.now });
  await saveJob(ctx.kv, job);
  emit(ctx, 'job-acknowledged', { job_id: id, sp_id: sp.id });
  return {};
};

/**
 * A receipt `signer` signed about `job`, checked against everything the chain knows: the job's
 * fields, the input's checksums, the signature by `sp`'s operator key, the fuel limit and the
 * output cap. Throws ERR_INVALID_RECEIPT (or ERR_SIGNATURE_INVALID) otherwise.
 */
export async function checkReceipt(kv: KV, job: JobRecord, sp: ProviderRecord, text: unknown, signature: unknown): Promise<JobReceipt> {
  const r = parseReceipt(String(text ?? ''));
  const wrong = (what: string): never => fail('ERR_INVALID_RECEIPT', `receipt of job ${job.id}: ${what}`);
  if (r.jobId !== job.id.toString()) wrong(`names job ${r.jobId}`);
  if (r.executorSpId !== sp.id) wrong(`names provider ${r.executorSpId}, not the signer's ${sp.id}`);
  if (r.moduleHash !== job.moduleHash) wrong('names another module');
  if (r.inputObjectId !== job.objectId.toString()) wrong('names another input object');
  if (JSON.stringify(r.args) !== JSON.stringify(job.args)) wrong('names other arguments');
  const input = await getObjectById(kv, job.objectId);
  if (input && JSON.stringify(r.inputChecksums) !== JSON.stringify(input.checksums.map((c) => Buffer.from(c).toString('hex')))) wrong('names other input checksums');
  if (BigInt(r.fuelUsed) > job.fuelLimit) wrong(`reports fuel ${r.fuelUsed} above the job's limit ${job.fuelLimit}`);
  if (BigInt(r.outputBytes) > job.outputCap) wrong(`reports ${r.outputBytes} output bytes, above the job's cap of ${job.outputCap}`);
  if (r.state === 'rejected' && (r.fuelUsed !== '0' || r.outputBytes !== 0)) wrong('a refused module uses no fuel and has no output');
  let sig: Uint8Array;
  try {
    sig = fromHex(String(signature ?? ''));
  } catch {
    return fail('ERR_SIGNATURE_INVALID', `the receipt signature of job ${job.id} is not hex`);
  }
  let signer: string | undefined;
  try {
    signer = sig.length === 65 ? recoverAddress(receiptDigest(r), sig) : undefined;
  } catch {
    signer = undefined;
  }
  if (!signer || !sameAddress(signer, sp.operatorAddress)) fail('ERR_SIGNATURE_INVALID', `the receipt of job ${job.id} is not signed by provider ${sp.id}'s operator key`);
  return r;
}

export const msgSettleJob: MsgHandler = async (ctx, msg) => {
  const id = big(msg.jobId);
  const { job, sp } = await executorsJob(ctx.kv, ctx.signer, id);
  if (job.status !== 'submitted' && job.status !== 'running') fail('ERR_INVALID_ARGUMENT', `job ${id} is already ${job.status}`);
  const r = await checkReceipt(ctx.kv, job, sp, msg.receipt, msg.receiptSignature);
  const params = computeParams(ctx.genesis);
  const fuelUsed = BigInt(r.fuelUsed);
  // The price the executor was chosen at (jobs from before prices were recorded: its price now).
  const price = job.computePrice ?? BigInt(sp.computePrice);
  const cost = (r.state === 'rejected' ? BigInt(params.rejectFuel) : fuelUsed) * price;
  const fee = cost < job.maxFee ? cost : job.maxFee;
  // Under a data offer the chain checks the offer's terms again: its module list and output cap.
  if (job.offerId) {
    const offer = await getOffer(ctx.kv, job.offerId);
    if (offer && !offerAllowsModule(offer, r.moduleHash)) fail('ERR_INVALID_RECEIPT', `receipt of job ${id}: module ${r.moduleHash.slice(0, 12)}… is not allowed by offer ${job.offerId}`);
    if (offer && BigInt(r.outputBytes) > offer.maxOutputBytes) fail('ERR_INVALID_RECEIPT', `receipt of job ${id}: ${r.outputBytes} output bytes, above offer ${job.offerId}'s cap of ${offer.maxOutputBytes}`);
  }
  // A refused module read no data: the owner's fee goes back with the unused compute fee.
  const dataFee = r.state === 'rejected' ? 0n : dataFeeHeld(job);
  // The fees stay in escrow until the dispute window closes (computeEndBlock pays them out).
  // (to the job's dataset run while it is open: other jobs of the run may need it).
  await giveBack(ctx.kv, job, job.maxFee - fee + (dataFeeHeld(job) - dataFee));
  const releaseAt = ctx.now + params.disputeWindowMs;
  const held = fee + dataFee > 0n;
  Object.assign(job, {
    status: r.state === 'rejected' ? 'rejected' : 'settled', fuelUsed, fee, outputHash: r.outputHash, exitState: exitStateOf(r),
    receipt: JSON.stringify(r), receiptSignature: String(msg.receiptSignature), outputBytes: r.outputBytes, settledAt: ctx.now,
    releaseAt: held ? releaseAt : 0, ...(job.offerId ? { dataFee } : {}),
  });
  if (held) ctx.kv.put(releaseKey(releaseAt, id), true);
  await saveJob(ctx.kv, job);
  // A dataset run's reduce is the run's result: the run ends with it.
  await finishRunWith(ctx, job);
  emit(ctx, r.state === 'rejected' ? 'job-rejected' : 'job-settled', { job_id: id, sp_id: sp.id, fee, data_fee: dataFee, refund: job.maxFee - fee, exit_state: job.exitState, release_at: releaseAt });
  return { fee: fee.toString(), refund: (job.maxFee - fee).toString() };
};
