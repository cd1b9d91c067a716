/**
 * `pool.collect-stacks`: the procedure's "use kb at each break", automated. The target runs; at
 * every PoolHitTag break the stack is read, classified as allocation or free by the version's
 * allocator frames, attributed to its call site, and written to stacks.jsonl as it arrives.
 *
 * Two modes: `per-hit` (one round trip per hit; kd prints each stop's stack, and a breakpoint at
 * each allocation site's return address prints the new block, so frees pair with allocations) and `fast` (kd runs `kb` itself at each
 * break through an event command with a `@$t0` counter, and the tool reads the stream once).
 */
import { defineProvider } from '../../src/core/plugin.js';
import type { BreakEvent, JsonSchema, StepContext, StepProvider } from '../../src/core/types.js';
import { blockArguments, checkWrapperPattern, classifyStack, classicAllocator, frameText, isKernelFrame, segmentHeapAllocator, wrapperList, type AllocatorFrames, type Classification, type WrapperList } from '../../src/evidence/classify.js';
import { parseKdError } from '../../src/kd/errors.js';
import { checkedAddress, clearCommand, markCleared, planBreakpoint } from './breakpoints.js';
import { isRunLimitReached } from '../../src/debuggers/run-limit.js';
import { kd, readGoEvents, readStack, splitBreaks, targetClockMs, type GoEvent } from './kd.js';
import { MAX_RUN_ON_STOPS, StopKinds, runOnCommand, runOnLimit } from './run-on.js';
import { stillInFlight } from '../../src/evidence/lifetimes.js';
import { bestExplained, growthFromSuspect, pairedFromSites } from '../../src/evidence/verdict.js';
import { PairingBook, type SiteTally, type StackRecord } from '../../src/evidence/pairing.js';
import { formatDuration } from '../../src/report/format.js';
import { durationSchema, tagSchema, toMs, wrapperPatterns, wrappersSchema } from './params.js';

/** `with` of pool.collect-stacks. */
export interface CollectParams {
  tag?: string;
  count?: number;
  timeout?: string | number;
  mode?: 'auto' | 'per-hit' | 'fast';
  budget?: number;
  sampleEvery?: number;
  addresses?: boolean;
  pairFrees?: boolean;
  /** per-hit: let kd run on by itself past stops the collection need not halt at (default true). */
  runOn?: boolean;
  /** How long to keep watching frees after `count` stacks. */
  watch?: string | number;
  /** The suspect tag's growth (rank-tags' `suspect`), to say how much of it the sites seen explain. */
  growth?: SuspectGrowth | null;
  /** More `module!function` patterns of wrappers to look through (an array, or a comma-separated string). */
  wrappers?: string[] | string;
}

// A collected allocation stack waiting for its block's address.
interface PendingAllocation {
  line: Record<string, unknown>;
  record: StackRecord;
  size?: number;
}

// The look-through list: the defaults plus the step's patterns (empty strings, as an unset input gives, are none).
function wrappersOf(params: CollectParams, ctx: StepContext): WrapperList {
  const extra = wrapperPatterns(params.wrappers);
  for (const pattern of extra) {
    const problem = checkWrapperPattern(pattern);
    if (problem) ctx.fail('BAD_WRAPPER_PATTERN', `wrapper pattern "${pattern}" ${problem}`, { hint: 'write module!function with * wildcards, e.g. vendorlib!* or vendorlib!VlAlloc*' });
  }
  return wrapperList(extra);
}

/** rank-tags' `suspect`, as collect-stacks and retag-sites read it. */
export interface SuspectGrowth {
  tag: string;
  pool: 'paged' | 'nonpaged';
  bytes?: number;
  growthBytesPerMinute: number | null;
  growthAllocsPerMinute?: number;
  measure?: 'count' | 'bytes';
  p?: number;
}

/** The `with` schema of a suspect (rank-tags' output; null when there is none). */
export const suspectSchema: JsonSchema = {
  type: ['object', 'null'],
  additionalProperties: false,
  properties: {
    tag: tagSchema,
    pool: { type: 'string', enum: ['paged', 'nonpaged'] },
    bytes: { type: 'number' },
    growthBytesPerMinute: { type: ['number', 'null'] },
    growthAllocsPerMinute: { type: 'number' },
    measure: { type: 'string', enum: ['count', 'bytes'] },
    p: { type: 'number' },
  },
};

/** Stack lines appended to stacks.jsonl. */
export const STACKS_FILE = 'stacks.jsonl';

// A classified stack as the pairing book reads it (one tag: the book needs none).
function recordOf(c: Classification, texts: string[]): StackRecord {
  return {
    kind: c.operation,
    frames: texts,
    ...(c.site && { site: c.site }),
    ...(c.culprit && { culprit: c.culprit }),
    ...(c.caller && !c.wrapped && { caller: c.caller }),
    ...(c.outside && { outside: c.outside }),
    ...(c.api !== undefined && { api: c.api }),
  };
}

// Pick the mode: fast for a real kd over a link where a round trip per hit is costly.
function chooseMode(params: CollectParams, ctx: { facts: StepContext['facts'] }): 'per-hit' | 'fast' {
  if (params.mode && params.mode !== 'auto') return params.mode;
  return ctx.facts.target.kind === 'kd' && (params.count ?? 50) > 200 ? 'fast' : 'per-hit';
}

// The event command of fast mode: count hits in @$t0, print the stack, continue until `count` —
// but never past a Ctrl+C break-in (it is a break instruction exception too, stopped at
// nt!DbgBreakPointWithStatus or its nt!RtlpBreakWithStatusInstruction label, as the breakin-*
// transcripts show): otherwise a timeout could not stop a target that gets no hit.
function fastEventCommand(count: number): string {
  return `sxe -c "r @$t0=@$t0+1; kb; j ((@$t0 < 0n${count}) & (@$ip != nt!DbgBreakPointWithStatus) & (@$ip != nt!RtlpBreakWithStatusInstruction)) 'g' ; ''" bpe`;
}

/** Splits a stream of fast-mode output into one text per break, as whole breaks arrive. */
export class BreakStream {
  private pending = '';

  constructor(private readonly onBreak: (text: string) => void) {}

  /** More output (whole lines): every break followed by the start of another is complete. */
  push(text: string): void {
    this.pending += text;
    const blocks = splitBreaks(this.pending);
    if (blocks.length < 2) return;
    const last = blocks[blocks.length - 1]!;
    for (const block of blocks.slice(0, -1)) this.onBreak(block);
    this.pending = last.endsWith('\n') || !this.pending.endsWith('\n') ? last : `${last}\n`;
  }

  /** The last lines (the stop's own output): every break left is complete. */
  end(text: string): void {
    const rest = this.pending + text;
    this.pending = '';
    for (const block of splitBreaks(rest)) this.onBreak(block);
  }
}

// Wait for the next stop, breaking in when the run limit (the collection's timeout or watch) is
// up (`limited`; the event is then the break-in's, with what kd printed before it). `onOutput`
// receives the output while the target runs (fast mode), when the session can stream it.
async function nextBreak(ctx: StepContext, onOutput?: (text: string) => void): Promise<{ event: BreakEvent | undefined; limited: boolean }> {
  try {
    return { event: await ctx.session.waitForBreak({ signal: ctx.signal, ...(onOutput && { onOutput }) }), limited: false };
  } catch (error) {
    if (ctx.signal.aborted || !isRunLimitReached(error)) throw error;
    return { event: ctx.session.running ? await ctx.session.breakIn({ timeoutMs: 30_000 }) : undefined, limited: true };
  }
}

// Stop unless the break is a PoolHitTag hit.
function checkBreak(ctx: StepContext, event: BreakEvent): void {
  if (event.kind === 'breakpoint') return;
  if (event.kind === 'bugcheck') ctx.fail('TARGET_BUGCHECK', `the target bug-checked (0x${(event.bugcheck?.code ?? 0).toString(16)}) while collecting stacks`);
  if (event.kind === 'reconnect') ctx.fail('TARGET_REBOOTED', 'the target rebooted while collecting stacks; PoolHitTag is lost across a reboot', { hint: 'set the hit tag again and rerun the step' });
  if (event.kind === 'exit') ctx.fail('DEBUGGER_EXITED', 'the debugger exited while collecting stacks');
}

/** Collect stacks at PoolHitTag breaks with one allocator's frames. */
function collector(allocator: AllocatorFrames, id: string, os: string): StepProvider<CollectParams> {
  return defineProvider<CollectParams>({
    uses: 'pool.collect-stacks',
    id,
    description: `Collect stacks at PoolHitTag breaks and attribute them to call sites (${allocator.name} pool: ${allocator.alloc.slice(0, 2).join(', ')}…).`,
    appliesTo: { os },
    with: {
      type: 'object',
      additionalProperties: false,
      properties: {
        tag: { ...tagSchema, description: 'The tag PoolHitTag holds (recorded with each stack).' },
        count: { type: 'integer', minimum: 1, maximum: 100000, description: 'Stacks to collect (default 50).' },
        timeout: { ...durationSchema, description: 'Stop after this long even with fewer stacks (default 60s).' },
        mode: { type: 'string', enum: ['auto', 'per-hit', 'fast'], description: 'per-hit: a round trip per hit, pairs frees; fast: kd prints stacks itself (default auto).' },
        budget: { type: 'integer', minimum: 1, description: 'At most this many breaks in all, sampled or not, the watch for frees included (default 20 × count).' },
        sampleEvery: { type: 'integer', minimum: 1, description: 'Read the stack at every k-th hit only (default 1).' },
        addresses: { type: 'boolean', description: 'per-hit: read each allocation\'s block with a breakpoint at its site\'s return address (default true).' },
        pairFrees: { type: 'boolean', description: 'per-hit: after `count` stacks, keep reading frees until every free site seen is paired with its allocation site (default true; bounded by timeout and budget).' },
        runOn: { type: 'boolean', description: 'per-hit: let kd run on by itself past the stops the collection need not halt at (frees before `count`, allocations while watching frees), reading their stacks from its output afterwards; false halts at every stop (default true).' },
        watch: { ...durationSchema, description: 'per-hit: how long to keep watching frees after `count` stacks, until every allocation seen is freed or older than its site\'s normal lifetime (default 5s; within `timeout`).' },
        growth: { ...suspectSchema, description: 'The suspect\'s growth (rank-tags\' `suspect` output): the collection then says which share of it the sites seen explain (`explained`).' },
        wrappers: wrappersSchema,
      },
    },
    outputs: {
      sites: { type: 'array', description: 'Per call site: frame, module, function, offset, kind (alloc|free), allocs, frees, outstanding, outstandingBytes, returnAddress; for a wrapper site, paths: the same counts per calling driver frame (culprit).' },
      allocSites: { type: 'integer', description: 'Distinct allocation call sites seen.' },
      stacks: { type: 'integer', description: 'Stacks read.' },
      kernelStacks: { type: 'integer', description: 'Of them, the kernel\'s own (every frame nt\'s): read and paired, but not counted toward `count` (per-hit mode), so a driver reusing a kernel tag still shows.' },
      hits: { type: 'integer', description: 'PoolHitTag breaks in all (sampled or not).' },
      stoppedBy: { type: 'string', description: '`count`, `timeout` or `budget`.' },
      mode: { type: 'string', description: '`per-hit` or `fast`.' },
      method: { type: 'string', description: '`pairing` (frees paired by address) or `counts`.' },
      unpairedFrees: { type: 'integer', description: 'Frees of allocations made before the collection began.' },
      allocator: { type: 'string', description: '`classic` or `segment-heap`.' },
      targetTimeMs: { type: 'integer', description: 'Target time the collection used, watch included.' },
      spanMs: { type: 'integer', description: 'Target time of the main phase (`count` stacks), which sites\' allocation rates are measured over.' },
      mainHits: { type: 'integer', description: 'Breaks of the main phase.' },
      watchEnded: { type: 'string', description: 'How the watch for frees after `count` ended: `settled` (every allocation freed or older than its site\'s normal lifetime), `budget` or `timeout`.' },
      explained: { type: 'number', description: 'With `growth`: the largest share of the tag\'s growth one site\'s lifetime-corrected leak rate explains when it explains at least half of it (src/evidence/verdict.ts), else 0.' },
      explainedBy: { type: ['string', 'null'], description: 'The frame that explains it (a wrapper\'s calling driver frame), or null.' },
    },
    checkCommands(params, ctx) {
      const mode = chooseMode(params, ctx);
      if (mode === 'fast') return ['r @$t0=0', fastEventCommand(params.count ?? 50), 'g', 'sxe -c "" bpe'];
      const ret = ctx.facts.os.pointerSize === 8 ? 'r rax' : 'r eax';
      return [
        'sxe -c "kb" bpe; g',
        ...(params.addresses === false ? [] : [`bpN <allocation site return address> "${ret}; g"; g (first allocation at each site)`]),
        ...(params.runOn === false ? [] : [`sxe -c "r @$t1=@$t1-1; kb; j ((@$t1 > 0) & <stop locations seen at frees (before count) or allocations (watch)>) 'g' ; ''" bpe; r @$t1=0n<stops>; g`]),
        'g (repeat until count or timeout)',
        `sxe -c "kb; bc <ids>; sxe -c \\"\\" bpe" bpe; g (the last stack)`,
      ];
    },
    async run(params, ctx) {
      const result = await collectStacks(params, ctx, allocator);
      if (result.outputs.hits === 0) explainNoHits(params, ctx);
      return result;
    },
  });
}

/**
 * A collection that got no PoolHitTag break says why and what to try: it fails when the break
 * cannot fire (pool tagging off in this boot), and warns otherwise (the tag was not used while
 * the target ran).
 */
function explainNoHits(params: CollectParams, ctx: StepContext): void {
  const waited = formatDuration(toMs(params.timeout, 60_000));
  if (ctx.facts.pool.taggingEnabled === false) {
    ctx.fail('TAGGING_OFF', `no PoolHitTag break in ${waited}: pool tagging is off in this boot, and Windows ${ctx.facts.os.version} breaks on PoolHitTag only when GlobalFlag 0x400 (ptg) was set at boot`, {
      hint: 'enable tagging first: run playbooks/enable-tagging.yaml (gflags /r +ptg, then a reboot), or find-pool-leak.yaml, which does both; on the simulator add ,machine=<folder> to the target so the next run boots with it',
    });
  }
  ctx.log.warn(`no PoolHitTag break in ${waited}: nothing allocated or freed pool with tag "${params.tag}" while the target ran. Try: check the tag (rank-only.yaml names the tags that grow; a 3-character tag is padded with a space), make the target exercise the driver, or wait longer (the timeout input)`);
}


/** What one collection gives: pool.collect-stacks' outputs and summary. */
export type CollectResult = { status: 'ok'; outputs: Record<string, unknown> & { sites: SiteTally[]; stacks: number; hits: number; method: 'pairing' | 'counts' }; summary: string };

/**
 * Collect stacks at PoolHitTag breaks with one allocator's frames (PoolHitTag already holds the
 * tag): pool.collect-stacks, and the unmasking rounds of pool.retag-sites, which collect again on
 * the original tag once the sites seen are retagged away.
 */
export async function collectStacks(params: CollectParams, ctx: StepContext, allocator: AllocatorFrames): Promise<CollectResult> {
  const count = params.count ?? 50;
  const timeoutMs = toMs(params.timeout, 60_000);
  const watchMs = toMs(params.watch, 5_000);
  const budget = params.budget ?? count * 20;
  const sampleEvery = params.sampleEvery ?? 1;
  const mode = chooseMode(params, ctx);
  const wrappers = wrappersOf(params, ctx);
  const book = new PairingBook();
  const started = Date.now();
  let stacks = 0;
  // Stacks that count toward `count`: not the kernel's own (every frame nt's). A driver that
  // reuses a kernel tag ("Irp ") hides among the I/O manager's own allocations of it; those are
  // read and paired but do not fill the collection, so the driver's rarer stacks still show.
  let counted = 0;
  let hits = 0;
  let stoppedBy: 'count' | 'timeout' | 'budget' = 'timeout';
  // Target time at the start and at the end of the main phase (`count` stacks), in hits too.
  const startClock = await targetClockMs(ctx);
  let mainPhase: { hits: number; clock: { ms: number; source: 'target' | 'host' } } | undefined;
  // How the watch after `count` ended: every allocation judged, or its budget or time ran out.
  let watchEnded: 'settled' | 'budget' | 'timeout' | undefined;
  // After `count` stacks, watching goes on (frees only) while a free site is unpaired or a
  // site's allocations are younger than its normal lifetime (src/evidence/lifetimes.ts).
  const needsWatchingAt = (hit: number): boolean => book.needsPairing() || book.allocationsBySite().some((list) => stillInFlight(list, hit));
  const needsWatching = (): boolean => needsWatchingAt(hits);

  // The progress line: the last site, and how many of the kernel's own stacks were read besides
  // (a collection at 0/40 with hundreds of those read is working, not stuck).
  const progressLabel = (site: string | null | undefined): string => `${site ?? 'unrecognised stack'}${stacks > counted ? ` (${stacks - counted} of the kernel's own read, not counted)` : ''}`;

  // Record one stack, read and classified once by the caller: write the JSON line (an allocation whose block
  // comes later waits for settle()).
  const record = (frames: ReturnType<typeof readStack>, c: Classification, extra: { deferAddress?: boolean } = {}): PendingAllocation | undefined => {
    stacks++;
    const kernelOwn = frames.length > 0 && frames.every(isKernelFrame);
    if (!kernelOwn) counted++;
    const texts = frames.map(frameText);
    const line: Record<string, unknown> = { seq: stacks, hit: hits, atMs: Date.now() - started, tag: params.tag, operation: c.operation, site: c.siteFrame ?? null, ...(c.wrapped && { culprit: c.culprit!.frame }), ...(kernelOwn && { kernel: true }), frames: texts };
    if (c.operation === 'alloc') {
      const sizeNumber = blockArguments(frames, c, params.tag).size;
      const pending: PendingAllocation = { line, record: recordOf(c, texts), ...(sizeNumber !== undefined && { size: sizeNumber }) };
      if (extra.deferAddress) return pending;
      settle(pending, undefined);
      return undefined;
    }
    if (c.operation === 'free') {
      const hex = blockArguments(frames, c, params.tag).address;
      Object.assign(line, { address: hex ?? null, paired: book.add({ ...recordOf(c, texts), ...(hex !== undefined && { address: hex }), hit: hits }) === 'paired' });
    }
    ctx.files.appendJsonLine(STACKS_FILE, line);
    ctx.progress.update(counted, count, progressLabel(c.siteFrame));
    return undefined;
  };

  // An allocation's block is known (or will not be): count it and write its line.
  const settle = (pending: PendingAllocation, address: string | undefined): void => {
    book.add({ ...pending.record, ...(address !== undefined && { address }), ...(pending.size !== undefined && { size: pending.size }), ...(typeof pending.line.hit === 'number' && { hit: pending.line.hit }) });
    Object.assign(pending.line, { size: pending.size ?? null, address: address ?? null });
    ctx.files.appendJsonLine(STACKS_FILE, pending.line);
    ctx.progress.update(counted, count, progressLabel(pending.line.site as string | null | undefined));
  };

  // One go per stop the tool halts at. kd prints each stop's stack itself (`sxe -c "kb" bpe`), and
  // a breakpoint at each allocation site's return address prints the new block (`r eax; g`) and
  // runs on, so the block of the allocation at stop N arrives with the output of the go after it.
  // Commands go on the go's own line (one round trip); the last go of the collection sets an event
  // command that clears the breakpoints and itself at that stop, so no exchange is spent on cleanup.
  // kd runs on by itself past the stops the tool need not halt at (plugins/pool/run-on.ts): frees
  // before `count` (nothing is set for them) and allocations during the watch (not recorded). It
  // halts at allocations before `count` (a new site's breakpoint must be set before the allocator
  // returns; where the break is inline in the allocation function, only at sites not armed yet),
  // at frees during the watch (any of them may end it) and at the first stop the phase may end
  // at; the stops it ran past are read from the go's output afterwards, in order.
  const perHit = async (): Promise<void> => {
    const pointerSize = ctx.facts.os.pointerSize === 8 ? 8 : 4;
    const register = pointerSize === 8 ? 'rax' : 'eax';
    const wantAddresses = params.addresses !== false;
    const runOn = params.runOn !== false;
    const siteIds = new Map<string, number>();
    const armed = new Set<number>();
    const expected = new Map<number, (PendingAllocation | null)[]>();
    const kinds = new StopKinds();
    // The bpe event command kd holds (undefined: ours is cleared).
    let eventCommand: string | undefined;
    let before: string[] = [];
    // After `count` stacks, a pairing phase reads only frees until each free site is matched
    // with the allocation site whose blocks it frees (retagging must patch both together).
    let pairing = false;
    // The loop's checks below would end the phase now.
    const phaseOver = (): boolean => hits >= budget || (pairing ? !needsWatching() : counted >= count);
    // The first hit at which the watch ends if no free comes before it, or the last kd may count
    // down to (the rule only relaxes as the allocations seen age, so a binary search finds it).
    const watchEndHit = (): number => {
      const furthest = Math.min(budget, hits + MAX_RUN_ON_STOPS);
      if (needsWatchingAt(furthest)) return furthest;
      let low = hits + 1;
      let high = furthest;
      while (low < high) {
        const middle = Math.floor((low + high) / 2);
        if (needsWatchingAt(middle)) low = middle + 1;
        else high = middle;
      }
      return low;
    };

    // One PoolHitTag stop, halted at (`final`) or run past by kd: classify it, record it, and
    // expect its block from its site's breakpoint.
    const lookAt = (stop: Extract<GoEvent, { kind: 'stop' }>, final: boolean, last: boolean): void => {
      hits++;
      const frames = readStack(stop.text);
      const c = classifyStack(frames, allocator, wrappers);
      kinds.learn(stop.address, frames[0]?.retAddr?.replace(/`/g, '').toLowerCase(), c.operation);
      const sampled = pairing ? c.operation === 'free' : (hits - 1) % sampleEvery === 0;
      let pending: PendingAllocation | null = null;
      if (sampled) pending = record(frames, c, { deferAddress: wantAddresses && c.operation === 'alloc' && c.returnAddress !== undefined }) ?? null;
      if (!(wantAddresses && c.operation === 'alloc' && c.returnAddress !== undefined)) {
        if (pending) settle(pending, undefined);
        return;
      }
      let id = siteIds.get(c.returnAddress);
      if (id === undefined) {
        id = planBreakpoint(ctx, c.returnAddress, `r ${register}; g`, `address of ${c.siteFrame ?? c.returnAddress} allocations`).breakpoint.id;
        siteIds.set(c.returnAddress, id);
      }
      // The block comes from the site's breakpoint: one armed now, or one set on the next go's
      // line before the allocator returns (not after the last stop, nor for a stop kd ran past).
      if (armed.has(id) || (final && !last)) {
        if (!expected.has(id)) expected.set(id, []);
        expected.get(id)!.push(pending);
      } else if (pending) settle(pending, undefined);
    };

    try {
      for (;;) {
        if (!pairing && counted >= count) {
          stoppedBy = 'count';
          mainPhase = { hits, clock: await targetClockMs(ctx) };
          if (params.pairFrees === false || !wantAddresses || !needsWatching()) break;
          pairing = true;
          // The watch for frees has its own, shorter limit within the timeout's.
          ctx.session.limitRun(watchMs);
        }
        if (pairing && !needsWatching()) {
          watchEnded = 'settled';
          break;
        }
        if (hits >= budget) {
          if (pairing) watchEnded = 'budget';
          else stoppedBy = 'budget';
          break;
        }
        // Breakpoints cleared by the last stop's own command are set again before the go.
        for (const [address, id] of siteIds) {
          if (armed.has(id)) continue;
          before.push(`bp${id} ${checkedAddress(address)} "r ${register}; g"`);
          armed.add(id);
        }
        const last = !pairing && counted === count - 1 && sampleEvery === 1;
        // Stops up to the first one the phase may end at (kd halts there whatever it is).
        const limit = pairing ? watchEndHit() - hits : Math.min(count - counted - (sampleEvery === 1 ? 1 : 0), budget - hits, MAX_RUN_ON_STOPS);
        // While watching, allocations; before `count`, frees and allocations returning straight
        // into a site whose breakpoint is armed (its block comes with the go's output).
        const armedSites = new Set([...siteIds].filter(([, id]) => armed.has(id)).map(([address]) => address));
        const condition = runOn && !last && limit > 1 ? kinds.condition(pointerSize, (pair) => (pairing ? pair.operation === 'alloc' : pair.operation === 'free' || (pair.operation === 'alloc' && armedSites.has(pair.ra)))) : undefined;
        let wanted = 'sxe -c "kb" bpe';
        if (last) {
          const clear = clearCommand([...armed]);
          wanted = `sxe -c "kb; ${clear ? `${clear}; ` : ''}sxe -c \\"\\" bpe" bpe`;
        } else if (condition) wanted = runOnCommand(condition);
        if (last || wanted !== eventCommand) before.push(wanted);
        eventCommand = wanted;
        if (condition) before.push(runOnLimit(limit));
        await ctx.session.resume('g', { before });
        before = [];
        const { event, limited } = await nextBreak(ctx);
        const events = event ? readGoEvents(event.output) : [];
        const stops = events.flatMap((item, index) => (item.kind === 'stop' ? [index] : []));
        // At the run limit the target halted at the break-in: what came after the last stop kd
        // ran past (its block's breakpoint hit included) is what a halt there would have missed.
        const final = limited ? -1 : (stops.at(-1) ?? -1);
        const upTo = limited ? (stops.at(-2) ?? -1) + 1 : events.length;
        if (event && !limited) checkBreak(ctx, event);
        if (event && last && !limited) {
          const failed = parseKdError(event.output);
          if (failed) ctx.log.warn(`kd refused the cleanup at the last stop (${failed.message}); clearing again`);
          else {
            markCleared(ctx, [...armed]);
            armed.clear();
            eventCommand = undefined;
          }
        }
        for (let index = 0; index < upTo; index++) {
          const item = events[index]!;
          if (item.kind === 'hit') {
            const pending = expected.get(item.id)?.shift();
            const value = item.registers[register];
            if (pending) settle(pending, value === undefined ? undefined : BigInt(`0x${value}`).toString(16));
            continue;
          }
          lookAt(item, index === final, last);
          // Never past the end of the phase, should kd have run past the stop it ends at.
          if (index !== final && phaseOver()) break;
        }
        if (limited) {
          if (pairing) watchEnded = 'timeout';
          else stoppedBy = 'timeout';
          break;
        }
      }
    } finally {
      for (const queue of expected.values()) for (const pending of queue) if (pending) settle(pending, undefined);
      expected.clear();
      const clear = clearCommand([...armed]);
      if (eventCommand !== undefined || clear) {
        if (ctx.session.running) await ctx.session.breakIn({ timeoutMs: 30_000 });
        await ctx.session.execute([clear, 'sxe -c "" bpe'].filter((c) => c !== undefined).join('; '), { signal: ctx.signal });
        markCleared(ctx, [...armed]);
      }
    }
  };

  // The collection's timeout is a run limit: on the simulator, target time (src/debuggers/run-limit.ts).
  ctx.session.limitRun(timeoutMs);
  try {
    if (mode === 'fast') {
      await kd(ctx, 'r @$t0=0');
      await kd(ctx, fastEventCommand(count));
      try {
        await ctx.session.resume('g');
        // kd prints every break and its stack while the target runs: stacks are recorded as the
        // lines arrive, so memory holds one chunk of the stream, not all `count` stacks.
        const stream = new BreakStream((block) => {
          hits++;
          const frames = readStack(block);
          record(frames, classifyStack(frames, allocator, wrappers));
        });
        const { event, limited } = await nextBreak(ctx, (text) => stream.push(text));
        stream.end(limited ? '' : (event?.output ?? ''));
        stoppedBy = limited ? 'timeout' : 'count';
        if (event && !limited) checkBreak(ctx, event);
      } finally {
        await ctx.session.execute('sxe -c "" bpe', { signal: ctx.signal });
      }
    } else {
      await perHit();
    }
  } finally {
    ctx.session.limitRun(undefined);
  }

  mainPhase ??= { hits, clock: await targetClockMs(ctx) };
  const spanMs = mainPhase.clock.ms - startClock.ms;
  // Leak rates per site and calling path, over the main phase's target time.
  const sites = book.list({ endHit: hits, spanMs, hitsInSpan: mainPhase.hits, sampleEvery });
  const explained = params.growth ? bestExplained(pairedFromSites(sites), growthFromSuspect(params.growth)) : undefined;
  const allocSites = sites.filter((s) => s.kind === 'alloc');
  const paired = sites.some((s) => s.kind === 'alloc' && s.addressed > 0);
  return {
    status: 'ok',
    outputs: {
      sites,
      allocSites: allocSites.length,
      stacks,
      kernelStacks: stacks - counted,
      hits,
      stoppedBy,
      mode,
      method: paired ? 'pairing' : 'counts',
      unpairedFrees: book.unpairedFrees,
      allocator: allocator.name,
      targetTimeMs: Math.max(0, (watchEnded === undefined ? mainPhase.clock : await targetClockMs(ctx)).ms - startClock.ms),
      ...(watchEnded && { watchEnded }),
      ...(explained && explained),
      spanMs,
      mainHits: mainPhase.hits,
    },
    summary: `${stacks} stacks from ${hits} hits (${mode})${stacks > counted ? `, ${stacks - counted} of them the kernel's own (not counted toward ${count})` : ''}, ${allocSites.length} allocation site(s); stopped by ${stoppedBy}`,
  };
}

/** Classic pool (2000 through Windows 10 1809): nt!ExAllocatePoolWithTag / nt!ExFreePoolWithTag frames. */
export const collectStacksClassic = collector(classicAllocator, 'classic', '<10.0.18362');
/** Kernel segment heap (Windows 10 1903+, 11): nt!ExAllocateHeapPool / nt!ExFreeHeapPool, ExAllocatePool2 callers. */
export const collectStacksSegmentHeap = collector(segmentHeapAllocator, 'segment-heap', 'win10-19h1+');
