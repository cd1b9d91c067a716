/**
 * `pool.retag-sites`: the procedure's last paragraph. Each allocation call site of the suspect
 * tag gets a distinct, unused tag by patching the tag immediate in memory (and the matching free
 * sites, since a free with another tag can bug-check); the target runs for `duration`; the
 * outstanding allocations of each new tag show which site leaks; then every byte is restored.
 */
import { readFileSync } from 'node:fs';
import { defineProvider } from '../../src/core/plugin.js';
import type { JsonSchema, StepContext, StepProvider } from '../../src/core/types.js';
import { formatAddress, padTag } from '../../src/kd/common.js';
import { parsePoolTagFile } from '../../src/report/pooltag.js';
import { findTagImmediate, type TagImmediate } from '../../src/kd/disasm.js';
import { endsAt } from './immediate.js';
import { kd, poolusedTags, readDisasm, readPoolfind, readPoolused, runFor, targetClockMs } from './kd.js';
import type { SiteTally } from './pairing.js';
import { restoreWrites, trackedWrite, type TrackedWrite } from './undo.js';
import { durationSchema, tagBytes, tagSchema, toMs } from './params.js';

/** `with` of pool.retag-sites. */
export interface RetagParams {
  tag: string;
  sites: SiteTally[];
  duration?: string | number;
  count?: 'poolused' | 'poolfind';
  pooltagFile?: string;
  maxSites?: number;
}

// A host-side label (a frame, a function name): kd prints C++ names with spaces, quotes and
// backticks (`anonymous namespace'), so only control characters are refused; none is sent to kd.
const labelSchema: JsonSchema = { type: 'string', pattern: '^[^\\u0000-\\u001f\\u007f]{1,512}$', title: 'text of 1 to 512 characters without control characters' };

// A count collect-stacks keeps per site.
const countSchema: JsonSchema = { type: 'integer', minimum: 0 };

/**
 * One call site as pool.collect-stacks outputs it (`SiteTally`). Only `returnAddress` reaches
 * a kd command (`u <address>`), so it is hex only; unknown members are refused.
 */
export const siteSchema: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['frame', 'module', 'offset', 'kind'],
  properties: {
    frame: { ...labelSchema, description: 'module!function+0xoffset, as kb printed it.' },
    module: { type: 'string', pattern: '^[^\\s;"\'`\\u0000-\\u001f\\u007f]{1,256}$', title: 'a module name of 1 to 256 characters without spaces, control characters, ; " \' or `', description: 'Module name, as kb printed it.' },
    function: { ...labelSchema, description: 'Function name, as kb printed it.' },
    offset: { type: 'integer', minimum: 0, description: 'Offset of the return address in the function.' },
    kind: { type: 'string', enum: ['alloc', 'free'], description: 'Allocation or free site.' },
    returnAddress: { type: 'string', pattern: '^[0-9a-f]{1,16}$', title: 'an address of 1 to 16 lowercase hex digits (no 0x, no backtick)', description: 'Return address into the site, lowercase hex without 0x or backtick.' },
    api: { ...labelSchema, description: 'The allocator function the site calls.' },
    allocs: countSchema,
    frees: countSchema,
    outstanding: { type: 'integer' },
    outstandingBytes: { type: 'integer' },
    addressed: countSchema,
    freesOf: { type: 'object', additionalProperties: countSchema, description: 'Free sites: frees paired with allocations of each allocation site (by frame).' },
    freedBy: { type: 'object', additionalProperties: countSchema, description: 'Allocation sites: frees of its allocations by free site (by frame).' },
    callers: { type: 'array', maxItems: 64, items: labelSchema, description: 'Frames above the site.' },
  },
};

/** Undo-log purpose prefix of retag writes. */
export const RETAG_PURPOSE = 'retag site';

/** New tags for `n` sites: the original's first three characters and a digit or letter, unused. */
export function chooseTags(original: string, n: number, taken: ReadonlySet<string>): string[] {
  const base = padTag(original);
  const stems = [base.slice(0, 3), base.slice(0, 2)];
  const alphabet = '123456789ABCDEFGHJKLMNPQRSTUVWXYZ';
  const chosen: string[] = [];
  for (const stem of stems) {
    for (const a of alphabet) {
      const candidate = stem.length === 3 ? stem + a : padTag(stem + a + (stem.length === 2 ? 'x' : ''));
      if (candidate === base || taken.has(candidate) || chosen.includes(candidate)) continue;
      chosen.push(candidate);
      if (chosen.length === n) return chosen;
    }
  }
  return chosen;
}

// Starting offsets tried before the return address, so x86 decoding lines up with the call.
const decodeStarts = [0x20, 0x18, 0x10, 0x1c, 0x14, 0x28, 0x0c, 0x30];

// Disassemble before a return address until a decoding ends exactly at it, and find the tag there.
async function locateImmediate(ctx: StepContext, returnAddress: string, tag: string, site: 'alloc' | 'free'): Promise<TagImmediate | undefined> {
  const ret = BigInt(`0x${returnAddress}`);
  const pointerSize = ctx.facts.os.pointerSize;
  for (const back of decodeStarts) {
    const reply = await ctx.session.execute(`u ${formatAddress(ret - BigInt(back), pointerSize)} L10`, { signal: ctx.signal });
    const instructions = readDisasm(reply.output);
    if (!endsAt(instructions, ret)) continue;
    const before = instructions.filter((i) => BigInt(`0x${i.address}`) < ret);
    const found = findTagImmediate(before, ctx.facts.os.arch, { site, tag: padTag(tag) });
    if (found) return found;
  }
  return undefined;
}

// Tags named in a pooltag.txt-format file (wildcards kept as patterns are skipped).
function tagsInFile(path: string): Set<string> {
  const file = parsePoolTagFile(readFileSync(path, 'utf8'), path);
  return new Set(file.entries.filter((e) => !/[*?]/.test(e.pattern)).map((e) => e.pattern));
}

/** Retag call sites by patching the tag immediate of one architecture's calling convention. */
function retagger(arch: 'x86' | 'x64'): StepProvider<RetagParams> {
  return defineProvider<RetagParams>({
    uses: 'pool.retag-sites',
    id: `immediate-${arch}`,
    description: `Give each allocation site of a tag its own unused tag by patching the ${arch === 'x86' ? 'push imm32' : 'mov r8d, imm32'} immediate, run, count, restore.`,
    appliesTo: { arch: [arch] },
    with: {
      type: 'object',
      additionalProperties: false,
      required: ['tag', 'sites'],
      properties: {
        tag: { ...tagSchema, description: 'The suspect tag the sites allocate with.' },
        sites: { type: 'array', items: siteSchema, description: 'Call sites from pool.collect-stacks (its `sites` output).' },
        duration: { ...durationSchema, description: 'How long the target runs retagged (default 2m).' },
        count: { type: 'string', enum: ['poolused', 'poolfind'], description: 'Count outstanding blocks with !poolused (default) or !poolfind.' },
        pooltagFile: { type: 'string', minLength: 1, description: 'A pooltag.txt whose tags must not be chosen.' },
        maxSites: { type: 'integer', minimum: 1, maximum: 32, description: 'Retag at most this many allocation sites (default 8).' },
      },
    },
    outputs: {
      sites: { type: 'array', description: 'Per allocation site: frame, module, function, offset, retag, patched, outstanding, outstandingBytes, growthBytesPerMinute.' },
      durationMs: { type: 'integer', description: 'Target time the retagged code ran.' },
      restored: { type: 'boolean', description: 'Every patched byte is back.' },
      warnings: { type: 'array', description: 'Sites or free sites that could not be patched, and why.' },
    },
    checkCommands(params) {
      const sites = (params.sites ?? []).filter((s) => s.kind === 'alloc');
      return ['!poolused', ...sites.map((s) => `u ${s.returnAddress ?? '<return address>'}-0x20 L10`), 'eb <immediate> <new tag bytes>', 'g', '(break in after the duration)', '!poolused 4 <new tag>', '(restore every patched byte)'];
    },
    async run(params, ctx) {
      const allocSites = params.sites.filter((s) => s.kind === 'alloc' && s.returnAddress).slice(0, params.maxSites ?? 8);
      if (allocSites.length === 0) return { status: 'skipped', reason: 'no allocation call site with a return address to retag', outputs: { sites: [], durationMs: 0, restored: true, warnings: [] } };
      const taken = poolusedTags((await kd(ctx, '!poolused', { timeoutMs: 300_000 })).output);
      if (params.pooltagFile) for (const t of tagsInFile(params.pooltagFile)) taken.add(t);
      const newTags = chooseTags(params.tag, allocSites.length, taken);
      if (newTags.length < allocSites.length) ctx.fail('NO_FREE_TAGS', `found only ${newTags.length} unused tags for ${allocSites.length} sites`);

      const records: TrackedWrite[] = [];
      const warnings: string[] = [];
      const plan = allocSites.map((site, i) => ({ site, retag: newTags[i]!, patched: [] as string[] }));
      try {
        for (const entry of plan) {
          const immediate = await locateImmediate(ctx, entry.site.returnAddress!, params.tag, 'alloc');
          if (!immediate) {
            warnings.push(`${entry.site.frame}: no tag immediate "${padTag(params.tag)}" before ${entry.site.returnAddress} (tag held in data or a register?)`);
            continue;
          }
          const record = await trackedWrite(ctx, immediate.address, tagBytes(entry.retag), `${RETAG_PURPOSE} ${entry.site.frame} (${immediate.encoding})`);
          records.push({ order: records.length + 1, record, memory: ctx.memory });
          entry.patched.push(immediate.address);
        }
        // Free sites that freed only one retagged site's blocks get that site's tag too.
        for (const free of params.sites.filter((s) => s.kind === 'free' && s.returnAddress)) {
          const owners = Object.keys(free.freesOf ?? {});
          const targets = plan.filter((p) => owners.includes(p.site.frame) && p.patched.length > 0);
          if (targets.length !== 1) {
            if (targets.length > 1) warnings.push(`${free.frame}: frees blocks of ${targets.length} retagged sites; left with the original tag`);
            continue;
          }
          const immediate = await locateImmediate(ctx, free.returnAddress!, params.tag, 'free');
          if (!immediate) {
            warnings.push(`${free.frame}: free site has no tag immediate (ExFreePool or a tag in a register); left as is`);
            continue;
          }
          const record = await trackedWrite(ctx, immediate.address, tagBytes(targets[0]!.retag), `${RETAG_PURPOSE} ${free.frame} (free, ${immediate.encoding})`);
          records.push({ order: records.length + 1, record, memory: ctx.memory });
          targets[0]!.patched.push(immediate.address);
        }
        if (records.length === 0) ctx.fail('RETAG_NOTHING_PATCHED', `no call site of "${padTag(params.tag)}" could be patched: ${warnings.join('; ')}`);

        const start = await targetClockMs(ctx);
        await runFor(ctx, toMs(params.duration, 120_000), `seconds of the retagged run (${plan.filter((p) => p.patched.length > 0).length} site(s) retagged)`);
        const end = await targetClockMs(ctx);
        const durationMs = Math.max(1, end.ms - start.ms);
        const results = [];
        for (const entry of plan) {
          let outstanding = 0;
          let outstandingBytes = 0;
          if (entry.patched.length > 0) {
            if (params.count === 'poolfind') {
              for (const pool of ['0', '1']) {
                const found = readPoolfind((await kd(ctx, `!poolfind 0x${Buffer.from(tagBytes(entry.retag)).readUInt32LE(0).toString(16)} ${pool}`, { timeoutMs: 300_000, allowIncomplete: true })).output);
                const allocated = found.hits.filter((h) => h.state !== 'Free');
                outstanding += allocated.length;
                outstandingBytes += allocated.reduce((sum, h) => sum + h.size, 0);
              }
            } else {
              const counted = readPoolused((await kd(ctx, `!poolused 4 ${entry.retag}`, { timeoutMs: 300_000 })).output);
              for (const c of counted.counts.filter((c) => c.tag === entry.retag)) {
                outstanding += c.outstanding;
                outstandingBytes += c.bytes;
              }
            }
          }
          results.push({
            frame: entry.site.frame,
            module: entry.site.module,
            ...(entry.site.function !== undefined && { function: entry.site.function }),
            offset: entry.site.offset,
            tag: padTag(params.tag),
            retag: entry.retag,
            patched: entry.patched,
            outstanding,
            outstandingBytes,
            growthBytesPerMinute: Math.round((outstandingBytes * 60_000) / durationMs),
          });
        }
        return {
          status: 'ok',
          outputs: { sites: results, durationMs, restored: true, warnings },
          summary: results.map((r) => `${r.frame} as "${r.retag}": ${r.outstanding} outstanding (${r.outstandingBytes} bytes)`).join('; '),
        };
      } finally {
        if (records.length > 0) await restoreWrites(records);
      }
    },
  });
}

/** x86: the tag is pushed (`push imm32`, 68 xx xx xx xx) before `call ExAllocatePoolWithTag`. */
export const retagX86 = retagger('x86');
/** x64: the tag is the third argument (`mov r8d, imm32`, 41 B8 xx xx xx xx); frees pass it in edx. */
export const retagX64 = retagger('x64');

/** ARM64 builds the tag with movz/movk (not contiguous in code): no patching, a clear error. */
export const retagArm64 = defineProvider<RetagParams>({
  uses: 'pool.retag-sites',
  id: 'arm64-unsupported',
  description: 'ARM64 has no contiguous tag immediate (movz/movk pairs): retagging is not supported; fails with an explanation.',
  appliesTo: { arch: ['arm64'] },
  with: retagX64.with,
  outputs: retagX64.outputs,
  async run(_params, ctx) {
    return ctx.fail(
      'RETAG_UNSUPPORTED_ARCH',
      'pool.retag-sites cannot patch ARM64 code: the tag is built by a movz/movk pair (16 bits each, shifted), so there is no contiguous immediate to rewrite',
      { hint: 'rebuild the driver with a distinct tag per allocation site, or rely on pool.collect-stacks pairing' },
    );
  },
});
