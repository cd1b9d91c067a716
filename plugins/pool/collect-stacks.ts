/**
 * `pool.collect-stacks`: the procedure's "use kb at each break", automated. The target runs; at
 * every PoolHitTag break the stack is read, classified as allocation or free by the version's
 * allocator frames, attributed to its call site, and written to stacks.jsonl as it arrives.
 *
 * Two modes: `per-hit` (one round trip per hit; reads the allocation's address with `gu` and
 * the return register, so frees pair with allocations) and `fast` (kd runs `kb` itself at each
 * break through an event command with a `@$t0` counter, and the tool reads the stream once).
 */
import { defineProvider } from '../../src/core/plugin.js';
import type { BreakEvent, StepContext, StepProvider } from '../../src/core/types.js';
import { argValue, classifyStack, classicAllocator, segmentHeapAllocator, type AllocatorFrames, type Classification } from './classify.js';
import { kd, readReturnRegister, readStack, splitBreaks } from './kd.js';
import { SiteBook, type SiteKey } from './pairing.js';
import { durationSchema, tagSchema, toMs } from './params.js';

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
}

/** Stack lines appended to stacks.jsonl. */
export const STACKS_FILE = 'stacks.jsonl';

// Site identity of a classified stack.
function siteKeyOf(c: Classification): SiteKey {
  return {
    frame: c.siteFrame!,
    module: c.site!.module,
    ...(c.site!.function !== undefined && { function: c.site!.function }),
    offset: c.site!.offset ?? 0,
    ...(c.returnAddress !== undefined && { returnAddress: c.returnAddress }),
    ...(c.api !== undefined && { api: c.api }),
    callers: c.callers.slice(0, 8),
  };
}

// Pick the mode: fast for a real kd over a link where a round trip per hit is costly.
function chooseMode(params: CollectParams, ctx: { facts: StepContext['facts'] }): 'per-hit' | 'fast' {
  if (params.mode && params.mode !== 'auto') return params.mode;
  return ctx.facts.target.kind === 'kd' && (params.count ?? 50) > 200 ? 'fast' : 'per-hit';
}

// The event command of fast mode: count hits in @$t0, print the stack, continue until `count`.
function fastEventCommand(count: number): string {
  return `sxe -c "r @$t0=@$t0+1; kb; j (@$t0 < 0n${count}) 'g' ; ''" bpe`;
}

// Wait for the next stop, breaking in when the time is up; undefined on timeout.
async function nextBreak(ctx: StepContext, timeoutMs: number): Promise<BreakEvent | undefined> {
  if (timeoutMs <= 0) {
    if (ctx.session.running) await ctx.session.breakIn({ timeoutMs: 30_000 });
    return undefined;
  }
  try {
    return await ctx.session.waitForBreak({ timeoutMs, signal: ctx.signal });
  } catch (error) {
    if (ctx.signal.aborted) throw error;
    if (ctx.session.running) {
      await ctx.session.breakIn({ timeoutMs: 30_000 });
      return undefined;
    }
    throw error;
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
        budget: { type: 'integer', minimum: 1, description: 'At most this many breaks in all, sampled or not (default 10 × count).' },
        sampleEvery: { type: 'integer', minimum: 1, description: 'Read the stack at every k-th hit only (default 1).' },
        addresses: { type: 'boolean', description: 'per-hit: step out of the allocator (gu) to read the allocation address (default true).' },
        pairFrees: { type: 'boolean', description: 'per-hit: after `count` stacks, keep reading frees until every free site seen is paired with its allocation site (default true; bounded by timeout and budget).' },
      },
    },
    outputs: {
      sites: { type: 'array', description: 'Per call site: frame, module, function, offset, kind (alloc|free), allocs, frees, outstanding, outstandingBytes, returnAddress.' },
      allocSites: { type: 'integer', description: 'Distinct allocation call sites seen.' },
      stacks: { type: 'integer', description: 'Stacks read.' },
      hits: { type: 'integer', description: 'PoolHitTag breaks in all (sampled or not).' },
      stoppedBy: { type: 'string', description: '`count`, `timeout` or `budget`.' },
      mode: { type: 'string', description: '`per-hit` or `fast`.' },
      method: { type: 'string', description: '`pairing` (frees paired by address) or `counts`.' },
      unpairedFrees: { type: 'integer', description: 'Frees of allocations made before the collection began.' },
      allocator: { type: 'string', description: '`classic` or `segment-heap`.' },
    },
    checkCommands(params, ctx) {
      const mode = chooseMode(params, ctx);
      if (mode === 'fast') return ['r @$t0=0', fastEventCommand(params.count ?? 50), 'g', 'sxe -c "" bpe'];
      const ret = ctx.facts.os.pointerSize === 8 ? 'r rax' : 'r eax';
      return ['g', 'kb', ...(params.addresses === false ? [] : ['gu (once per allocator frame)', ret]), '(repeat until count or timeout)'];
    },
    async run(params, ctx) {
      const count = params.count ?? 50;
      const timeoutMs = toMs(params.timeout, 60_000);
      const budget = params.budget ?? count * 10;
      const sampleEvery = params.sampleEvery ?? 1;
      const mode = chooseMode(params, ctx);
      const book = new SiteBook();
      const started = Date.now();
      let stacks = 0;
      let hits = 0;
      let stoppedBy: 'count' | 'timeout' | 'budget' = 'timeout';

      // Record one stack: classify, attribute, write the JSON line.
      const record = (text: string, extra: { address?: string } = {}): Classification | undefined => {
        const frames = readStack(text);
        const c = classifyStack(frames, allocator);
        stacks++;
        const line: Record<string, unknown> = { seq: stacks, hit: hits, atMs: Date.now() - started, tag: params.tag, operation: c.operation, site: c.siteFrame ?? null, frames: frames.map((f) => (f.function ? `${f.module}!${f.function}+0x${(f.offset ?? 0).toString(16)}` : f.module)) };
        if (c.operation === 'alloc') {
          const size = argValue(frames[c.allocatorIndex], 1);
          const sizeNumber = size !== undefined && size < 0x10000000n ? Number(size) : undefined;
          book.allocation(siteKeyOf(c), extra.address, sizeNumber);
          Object.assign(line, { size: sizeNumber ?? null, address: extra.address ?? null });
        } else if (c.operation === 'free') {
          const address = argValue(frames[c.allocatorIndex], 0);
          const hex = address !== undefined ? address.toString(16) : undefined;
          Object.assign(line, { address: hex ?? null, paired: book.free(siteKeyOf(c), hex) === 'paired' });
        }
        ctx.files.appendJsonLine(STACKS_FILE, line);
        ctx.progress.update(stacks, count, c.siteFrame ?? 'unrecognised stack');
        return c;
      };

      if (mode === 'fast') {
        await kd(ctx, 'r @$t0=0');
        await kd(ctx, fastEventCommand(count));
        try {
          await ctx.session.resume('g');
          const event = await nextBreak(ctx, timeoutMs);
          const text = event?.output ?? '';
          for (const chunk of splitBreaks(text)) {
            hits++;
            record(chunk);
          }
          stoppedBy = event ? 'count' : 'timeout';
          if (event) checkBreak(ctx, event);
        } finally {
          await ctx.session.execute('sxe -c "" bpe', { signal: ctx.signal });
        }
      } else {
        // After `count` stacks, a pairing phase reads only frees until each free site is matched
        // with the allocation site whose blocks it frees (retagging must patch both together).
        let pairing = false;
        for (;;) {
          if (!pairing && stacks >= count) {
            stoppedBy = 'count';
            if (params.pairFrees === false || params.addresses === false || !book.needsPairing()) break;
            pairing = true;
          }
          if (pairing && !book.needsPairing()) break;
          if (hits >= budget) {
            stoppedBy = 'budget';
            break;
          }
          await ctx.session.resume('g');
          const event = await nextBreak(ctx, timeoutMs - (Date.now() - started));
          if (!event) {
            stoppedBy = 'timeout';
            break;
          }
          checkBreak(ctx, event);
          hits++;
          if (!pairing && (hits - 1) % sampleEvery !== 0) continue;
          const reply = await kd(ctx, 'kb');
          const frames = readStack(reply.output);
          const c = classifyStack(frames, allocator);
          if (pairing && c.operation !== 'free') continue;
          let address: string | undefined;
          if (c.operation === 'alloc' && params.addresses !== false) {
            // Step out of every allocator frame: the return register then holds the new block.
            for (let i = 0; i <= c.allocatorIndex; i++) {
              await ctx.session.resume('gu');
              const stepped = await ctx.session.waitForBreak({ timeoutMs: 30_000, signal: ctx.signal });
              if (stepped.kind !== 'step') checkBreak(ctx, stepped);
            }
            address = await readReturnRegister(ctx);
          }
          record(reply.output, { address });
        }
      }

      const sites = book.list();
      const allocSites = sites.filter((s) => s.kind === 'alloc');
      const paired = sites.some((s) => s.kind === 'alloc' && s.addressed > 0);
      if (stacks === 0) {
        ctx.log.warn(`no PoolHitTag break within ${timeoutMs} ms`);
      }
      return {
        status: 'ok',
        outputs: {
          sites,
          allocSites: allocSites.length,
          stacks,
          hits,
          stoppedBy,
          mode,
          method: paired ? 'pairing' : 'counts',
          unpairedFrees: book.unpairedFrees,
          allocator: allocator.name,
        },
        summary: `${stacks} stacks from ${hits} hits (${mode}), ${allocSites.length} allocation site(s); stopped by ${stoppedBy}`,
      };
    },
  });
}

/** Classic pool (2000 through Windows 10 1809): nt!ExAllocatePoolWithTag / nt!ExFreePoolWithTag frames. */
export const collectStacksClassic = collector(classicAllocator, 'classic', '<10.0.18362');
/** Kernel segment heap (Windows 10 1903+, 11): nt!ExAllocateHeapPool / nt!ExFreeHeapPool, ExAllocatePool2 callers. */
export const collectStacksSegmentHeap = collector(segmentHeapAllocator, 'segment-heap', 'win10-19h1+');
