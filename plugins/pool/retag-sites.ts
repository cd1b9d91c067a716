/**
 * `pool.retag-sites`: the procedure's last paragraph. Each allocation call site of the suspect
 * tag gets a distinct, unused tag by patching the tag immediate in memory (and the matching free
 * sites, since a free with another tag can bug-check); the target runs for `duration`; the
 * outstanding allocations of each new tag show which site leaks; then every byte is restored.
 * A wrapper's call that passes the tag on from a register (NdisAllocateMemoryWithTagPriority,
 * StorPortAllocatePool, WdfMemoryCreate: the tag is their caller's argument) has no immediate to
 * patch: each calling driver's path gets its own tag instead, patched at the immediate before
 * that driver's call into the wrapper, as a kd user would patch the driver's code by hand.
 */
import { readFileSync } from 'node:fs';
import { defineProvider } from '../../src/core/plugin.js';
import type { JsonSchema, StepContext, StepProvider } from '../../src/core/types.js';
import { formatAddress, padTag } from '../../src/kd/common.js';
import { parsePoolTagFile } from '../../src/report/pooltag.js';
import { findTagImmediate, type TagImmediate } from '../../src/kd/disasm.js';
import { endsAt } from './immediate.js';
import { kd, poolusedTags, readDisasm, readPoolused, runFor, targetClockMs } from './kd.js';
import { collectStacks, suspectSchema, type SuspectGrowth } from './collect-stacks.js';
import { POOL_HIT_TAG, POOL_HIT_TAG_PURPOSE } from './hit-tag.js';
import { checkWrapperPattern, classicAllocator, segmentHeapAllocator } from '../../src/evidence/classify.js';
import { GROWTH_DEFAULTS, couldStillGrow, testGrowth, trendWords, type GrowthPoint, type GrowthRule, type GrowthTest, type SeriesGrowth } from '../../src/evidence/growth.js';
import { growthFromSuspect, retagCandidate, retaggedEvidence } from '../../src/evidence/verdict.js';
import type { RetagRoundOutputs } from '../../src/report/hunt.js';
import type { PathTally, SiteTally } from '../../src/evidence/pairing.js';
import { restoreWrites, trackedWrite, type TrackedWrite } from './undo.js';
import { durationSchema, tagBytes, tagSchema, toMs, wrapperPatterns, wrappersSchema } from './params.js';

/** `with` of pool.retag-sites. */
export interface RetagParams {
  tag: string;
  sites: SiteTally[];
  duration?: string | number;
  pooltagFile?: string;
  maxSites?: number;
  points?: number;
  extend?: number;
  growth?: SuspectGrowth | null;
  rounds?: number;
  stacks?: number;
  collectTimeout?: string | number;
  wrappers?: string[] | string;
}

// A host-side label (a frame, a function name): kd prints C++ names with spaces, quotes and
// backticks (`anonymous namespace'), so only control characters are refused; none is sent to kd.
const labelSchema: JsonSchema = { type: 'string', pattern: '^[^\\u0000-\\u001f\\u007f]{1,512}$', title: 'text of 1 to 512 characters without control characters' };

// A count collect-stacks keeps per site.
const countSchema: JsonSchema = { type: 'integer', minimum: 0 };

// A module name as kb prints it (a site's, or a calling module's): none of what could break a kd command line.
const moduleSchema: JsonSchema = { type: 'string', pattern: '^[^\\s;"\'`\\u0000-\\u001f\\u007f]{1,256}$', title: 'a module name of 1 to 256 characters without spaces, control characters, ; " \' or `' };

// A return address as collect-stacks outputs it: it reaches a kd command (`u <address>`).
const returnAddressSchema: JsonSchema = { type: 'string', pattern: '^[0-9a-f]{1,16}$', title: 'an address of 1 to 16 lowercase hex digits (no 0x, no backtick)' };

// A wrapper's calling paths: only each calling driver's return address reaches kd (`u`, to patch
// the tag immediate before its call into the wrapper); the counts are the verdict's.
const pathsSchema: JsonSchema = {
  type: 'object',
  additionalProperties: {
    type: 'object',
    required: ['culprit'],
    properties: {
      culprit: {
        type: 'object',
        required: ['frame', 'module', 'offset'],
        properties: {
          frame: labelSchema,
          module: moduleSchema,
          function: labelSchema,
          offset: { type: 'integer', minimum: 0 },
          returnAddress: { ...returnAddressSchema, description: 'Return address into the calling driver (its call into the wrapper).' },
        },
      },
    },
  },
};

/**
 * One call site as pool.collect-stacks outputs it (`SiteTally`). Only `returnAddress` and the
 * calling paths' return addresses reach a kd command (`u <address>`), so they are hex only;
 * unknown members are refused.
 */
export const siteSchema: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['frame', 'module', 'offset', 'kind'],
  properties: {
    frame: { ...labelSchema, description: 'module!function+0xoffset, as kb printed it.' },
    module: { ...moduleSchema, description: 'Module name, as kb printed it.' },
    function: { ...labelSchema, description: 'Function name, as kb printed it.' },
    offset: { type: 'integer', minimum: 0, description: 'Offset of the return address in the function.' },
    kind: { type: 'string', enum: ['alloc', 'free'], description: 'Allocation or free site.' },
    returnAddress: { ...returnAddressSchema, description: 'Return address into the site, lowercase hex without 0x or backtick.' },
    api: { ...labelSchema, description: 'The allocator function the site calls.' },
    allocs: countSchema,
    frees: countSchema,
    outstanding: { type: 'integer' },
    outstandingBytes: { type: 'integer' },
    addressed: countSchema,
    freesOf: { type: 'object', additionalProperties: countSchema, description: 'Free sites: frees paired with allocations of each allocation site (by frame).' },
    freedBy: { type: 'object', additionalProperties: countSchema, description: 'Allocation sites: frees of its allocations by free site (by frame).' },
    callers: { type: 'array', maxItems: 64, items: labelSchema, description: 'Frames above the site.' },
    callerModules: { type: 'array', items: moduleSchema, description: 'Modules whose frames called the site (read by the verdict, never sent to kd).' },
    paths: { ...pathsSchema, description: 'A wrapper\'s site: counts per calling driver frame (read by the verdict); a calling driver\'s return address is disassembled when the wrapper\'s call has no tag immediate, to retag that driver\'s call.' },
    shared: { type: 'boolean', description: 'The site\'s module is a shared library detected from the stacks (its sites are called from two or more other drivers); `paths` are per calling driver.' },
    callerPaths: { type: 'object', description: 'Any other site: counts per calling frame inside its own module (read by the verdict, never sent to kd).' },
    requesters: { type: 'object', description: 'Allocation sites whose caller chains part: counts per frame where they part, with the free sites of each group\'s blocks (read by the verdict, never sent to kd).' },
    leakRate: { type: 'object', description: 'Allocation sites: the lifetime-corrected leak rate collect-stacks measured (read by the verdict, never sent to kd).' },
  },
};

// Modules the collections so far found to be shared libraries (called from two or more other
// drivers): an unmasking collection sees fewer of their callers, so it looks through them as
// wrappers from the start, and their sites are still measured per calling driver.
function sharedModules(sites: readonly SiteTally[]): string[] {
  return [...new Set(sites.filter((s) => s.shared && checkWrapperPattern(`${s.module}!*`) === undefined).map((s) => `${s.module}!*`))];
}

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

// Disassemble before a return address until a decoding ends exactly at it, and find the tag there
// (`argument`: a driver's call into a wrapper, where the tag may be any of its arguments).
async function locateImmediate(ctx: StepContext, returnAddress: string, tag: string, site: 'alloc' | 'free' | 'argument'): Promise<TagImmediate | undefined> {
  const ret = BigInt(`0x${returnAddress}`);
  const pointerSize = ctx.facts.os.pointerSize;
  for (const back of decodeStarts) {
    const reply = await ctx.session.execute(`u ${formatAddress(ret - BigInt(back), pointerSize)} L10`, { signal: ctx.signal });
    const instructions = readDisasm(reply.output);
    if (!endsAt(instructions, ret)) continue;
    const before = instructions.filter((i) => BigInt(`0x${i.address}`) < ret);
    const found = findTagImmediate(before, ctx.facts.os.arch, { site, tag: padTag(tag) });
    if (found) return found;
    // The same tag with the PROTECTED_POOL bit (bit 31: the fourth byte's top bit) is never retagged.
    const any = findTagImmediate(before, ctx.facts.os.arch, { site });
    if (any && isProtectedFormOf(any.tag, tag)) return { ...any, protected: true } as TagImmediate & { protected: true };
  }
  return undefined;
}

// Tags named in a pooltag.txt-format file (wildcards kept as patterns are skipped).
function tagsInFile(path: string): Set<string> {
  const file = parsePoolTagFile(readFileSync(path, 'utf8'), path);
  return new Set(file.entries.filter((e) => !/[*?]/.test(e.pattern)).map((e) => e.pattern));
}

/** Is `shown` (an immediate's four characters) `tag` with the PROTECTED_POOL bit set? */
export function isProtectedFormOf(shown: string, tag: string): boolean {
  const t = padTag(tag);
  if (shown.length !== 4 || (shown.charCodeAt(3) & 0x80) === 0) return false;
  return shown.slice(0, 3) === t.slice(0, 3) && (shown.charCodeAt(3) & 0x7f) === t.charCodeAt(3);
}

/** Outstanding count and bytes of each tag from one `!poolused 4` (both pools summed), at a point of target time. */
async function countTags(ctx: StepContext, tags: readonly string[]): Promise<{ atMs: number; counts: Map<string, { count: number; bytes: number; allocs: number; frees: number }> }> {
  const time = await targetClockMs(ctx);
  const read = readPoolused((await kd(ctx, '!poolused 4', { timeoutMs: 300_000 })).output);
  const counts = new Map(tags.map((t) => [padTag(t), { count: 0, bytes: 0, allocs: 0, frees: 0 }]));
  for (const c of read.counts) {
    const entry = counts.get(c.tag);
    if (!entry) continue;
    entry.count += c.outstanding;
    entry.bytes += c.bytes;
    entry.allocs += c.allocs ?? c.outstanding;
    entry.frees += c.frees ?? 0;
  }
  return { atMs: time.ms, counts };
}

// What one look at a round's counts says.
interface RetagLook {
  tested: GrowthTest<string>['entries'];
  growthOf: Map<string, SeriesGrowth>;
  familyPoints: GrowthPoint[];
  family: SeriesGrowth;
  /** The largest share of the growth one retagged site explains (0: none does). */
  explained: number;
  /** The same among sites whose rise did not outrun the tag's while watched (no refill in it). */
  plainly: number;
}

// Test a round's series as counted so far: the new tags as one family (corrected together), the
// original tag on its own, and the tag with its new tags together (the leak still there while watched).
function lookAtRound(tag: string, active: readonly RetagEntry[], original: readonly GrowthPoint[], series: ReadonlyMap<string, GrowthPoint[]>, growth: ReturnType<typeof growthFromSuspect>, rule: GrowthRule): RetagLook {
  const tested = testGrowth(active.map((e) => ({ key: e.retag, points: series.get(e.retag)! })), rule).entries;
  const growthOf = new Map(tested.map((t) => [t.key, t.growth]));
  growthOf.set(padTag(tag), testGrowth([{ key: padTag(tag), points: original }], rule).entries[0]!.growth);
  const familyPoints = original.slice(1).map((p, k) => active.reduce((sum, e) => ({ ...sum, count: sum.count + series.get(e.retag)![k]!.count, bytes: sum.bytes + series.get(e.retag)![k]!.bytes }), { ...p }));
  const family = testGrowth([{ key: 'family', points: familyPoints }], rule).entries[0]!.growth;
  // The verdict's own rule, on the sites as the round will report them.
  const claims = growth ? active.map((e) => retagCandidate(retaggedEvidence({ ...siteIdentity(e.site, e.path), retag: e.retag, growth: growthOf.get(e.retag)! }), growth, family)).filter((c) => c.explains) : [];
  const explained = Math.max(0, ...claims.map((c) => c.explained ?? 0));
  const plainly = Math.max(0, ...claims.filter((c) => !c.refill).map((c) => c.explained ?? 0));
  return { tested, growthOf, familyPoints, family, explained, plainly };
}

// A retagged site's identity as its round reports it: a wrapper's site called from one driver's
// path names that driver (`culprit`); called from several, their frames (`callers`); retagged at
// one calling driver's call, that driver.
function siteIdentity(site: SiteTally, path?: PathTally) {
  const paths = path ? [path] : Object.values(site.paths ?? {});
  return {
    frame: site.frame,
    module: site.module,
    ...(site.function !== undefined && { function: site.function }),
    offset: site.offset,
    ...(paths.length === 1 && { culprit: paths[0]!.culprit }),
    ...(paths.length > 1 && { callers: paths.map((p) => p.culprit.frame) }),
    ...(!path && site.callerModules && { callerModules: site.callerModules }),
  };
}

// One retagged allocation site across the rounds; a wrapper's site retagged at its calling
// drivers' calls is one entry per calling path.
interface RetagEntry {
  site: SiteTally;
  /** The calling driver's path whose call into the wrapper was patched. */
  path?: PathTally;
  retag: string;
  patched: string[];
  /** Free sites patched with this site's new tag. */
  freeFrames: string[];
  mismatchedFrees?: number;
  /** Its new tag's counters at the round's last look. */
  last?: { count: number; bytes: number; allocs: number; frees: number };
}

// What retagTargets remembers across rounds: sites and paths tried, wrapper calls without an immediate.
interface TargetState {
  /** Return addresses of sites, and `<site>><calling frame>` of paths, whose immediate was looked for. */
  tried: Set<string>;
  /** Return addresses of sites that pass the tag on from a register (their paths are retagged). */
  passesOn: Set<string>;
}

/**
 * The sites to retag next (at most `room`), each with its tag immediate when one was found: a
 * site's own, or, for a wrapper's call without one, each calling driver's path not yet retagged
 * with the immediate before that driver's call into the wrapper.
 */
async function retagTargets(ctx: StepContext, sites: readonly SiteTally[], tag: string, state: TargetState, room: number, warnings: string[]): Promise<{ site: SiteTally; path?: PathTally; immediate?: TagImmediate }[]> {
  const targets: { site: SiteTally; path?: PathTally; immediate?: TagImmediate }[] = [];
  for (const site of sites) {
    if (site.kind !== 'alloc' || !site.returnAddress || state.tried.has(site.returnAddress)) continue;
    if (targets.length >= room) break;
    const paths = Object.values(site.paths ?? {});
    if (!state.passesOn.has(site.returnAddress)) {
      const immediate = await locateImmediate(ctx, site.returnAddress, tag, 'alloc');
      if (immediate || paths.length === 0) {
        state.tried.add(site.returnAddress);
        targets.push({ site, ...(immediate && { immediate }) });
        continue;
      }
      state.passesOn.add(site.returnAddress);
      warnings.push(`${site.frame}: no tag immediate "${padTag(tag)}" before ${site.returnAddress} (tag held in data or a register?); its callers' calls into it are tried instead`);
    }
    for (const path of paths) {
      const key = `${site.returnAddress}>${path.culprit.frame}`;
      if (state.tried.has(key) || targets.length >= room) continue;
      state.tried.add(key);
      const immediate = path.culprit.returnAddress ? await locateImmediate(ctx, path.culprit.returnAddress, tag, 'argument') : undefined;
      targets.push({ site, path, ...(immediate && { immediate }) });
    }
  }
  return targets;
}

// Was a site retagged already: at its own call, or (a wrapper's) at every calling path it shows?
function retaggedAlready(entries: readonly RetagEntry[], site: SiteTally): boolean {
  const own = entries.filter((e) => e.site.frame === site.frame);
  if (own.some((e) => !e.path)) return true;
  return own.length > 0 && Object.values(site.paths ?? {}).every((p) => own.some((e) => e.path?.culprit.frame === p.culprit.frame));
}

/** The round's early look: the fewest points that can show a rise goes on (the growth test's continued-rise check needs 4). */
const EARLY_LOOK = 4;
/** The share of a round's error rate spent at its early look. */
const EARLY_SHARE = 0.1;

/**
 * Retag, count over time, and unmask: round 1 retags the sites seen; each new tag (and the
 * original) is counted at `points` points after a first interval and put to the growth test;
 * while no retagged site explains the tag's growth and rounds are left, PoolHitTag is set to the
 * original tag again and stacks are collected (only sites not yet retagged hit it), and those
 * sites are retagged in the next round. Every byte is restored at the end, whatever happened.
 */
async function retagRounds(params: RetagParams, ctx: StepContext) {
  const maxSites = params.maxSites ?? 8;
  const maxRounds = params.rounds ?? 1;
  const points = params.points ?? 6;
  const extend = params.extend ?? 2;
  const durationMs = toMs(params.duration, 120_000);
  const growth = growthFromSuspect(params.growth);
  const first = params.sites.filter((s) => s.kind === 'alloc' && s.returnAddress);
  if (first.length === 0) return { status: 'skipped' as const, reason: 'no allocation call site with a return address to retag', outputs: { sites: [], rounds: [], durationMs: 0, restored: true, warnings: [], targetTimeMs: 0, explained: 0 } };
  const taken = poolusedTags((await kd(ctx, '!poolused', { timeoutMs: 300_000 })).output);
  if (params.pooltagFile) for (const t of tagsInFile(params.pooltagFile)) taken.add(t);
  const allocator = ctx.facts.pool.allocator === 'segment-heap' ? segmentHeapAllocator : classicAllocator;
  const records: TrackedWrite[] = [];
  const warnings: string[] = [];
  const entries: RetagEntry[] = [];
  const state: TargetState = { tried: new Set(), passesOn: new Set() };
  const rounds: RetagRoundOutputs[] = [];
  const collected: SiteTally[] = [];
  let sites: readonly SiteTally[] = params.sites;
  let unmasked: string[] | undefined;
  let unmaskStacks = 0;
  const started = await targetClockMs(ctx);
  let explained = 0;
  // Target time the retagged code ran, every round's points included.
  let ranMs = 0;
  try {
    for (let round = 1; round <= maxRounds; round++) {
      const targets = await retagTargets(ctx, sites, params.tag, state, maxSites - entries.length, warnings);
      if (targets.length === 0) {
        if (round > 1) warnings.push(`round ${round}: the collection on "${padTag(params.tag)}" saw no allocation site not yet retagged`);
        break;
      }
      const newTags = chooseTags(params.tag, targets.length, new Set([...taken, ...entries.map((e) => e.retag)]));
      if (newTags.length < targets.length) ctx.fail('NO_FREE_TAGS', `found only ${newTags.length} unused tags for ${targets.length} sites`);
      const added = targets.map(({ site, path }, i): RetagEntry => ({ site, ...(path && { path }), retag: newTags[i]!, patched: [], freeFrames: [] }));
      for (const [i, entry] of added.entries()) {
        const immediate = targets[i]!.immediate;
        // Where the patch goes: the site's own call, or the calling driver's call into the wrapper.
        const where = entry.path ? `${entry.path.culprit.frame} (its call into ${entry.site.frame})` : entry.site.frame;
        if (!immediate) {
          warnings.push(
            entry.path
              ? `${where}: no tag immediate "${padTag(params.tag)}" before ${entry.path.culprit.returnAddress ?? 'its return address (not known)'} (the tag read from memory or passed on in a register?)`
              : `${entry.site.frame}: no tag immediate "${padTag(params.tag)}" before ${entry.site.returnAddress} (tag held in data or a register?)`,
          );
          continue;
        }
        if ('protected' in immediate) {
          warnings.push(`${where}: allocates "${padTag(params.tag)}" with the protected-pool bit: never retagged (a free with another tag bug-checks 0xC2)`);
          continue;
        }
        const record = await trackedWrite(ctx, immediate.address, tagBytes(entry.retag), `${RETAG_PURPOSE} ${where} (${immediate.encoding})`);
        records.push({ order: records.length + 1, record, memory: ctx.memory });
        entry.patched.push(immediate.address);
      }
      // Free sites that freed only one retagged site's blocks get that site's tag too.
      for (const free of sites.filter((s) => s.kind === 'free' && s.returnAddress)) {
        const owners = Object.keys(free.freesOf ?? {});
        const targets = added.filter((p) => owners.includes(p.site.frame) && p.patched.length > 0);
        // A wrapper's free serves every caller's blocks: patching it for one calling path would
        // mismatch the others' frees.
        if (targets.some((p) => p.path)) {
          const warning = `${free.frame}: frees blocks of ${targets.find((p) => p.path)!.site.frame}, retagged at its callers; left with the original tag`;
          if (!warnings.includes(warning)) warnings.push(warning);
          continue;
        }
        if (targets.length !== 1 || entries.some((e) => e.freeFrames.includes(free.frame))) {
          if (targets.length > 1) warnings.push(`${free.frame}: frees blocks of ${targets.length} retagged sites; left with the original tag`);
          continue;
        }
        const immediate = await locateImmediate(ctx, free.returnAddress!, params.tag, 'free');
        if (!immediate || 'protected' in immediate) {
          warnings.push(`${free.frame}: free site has no tag immediate (ExFreePool or a tag in a register); left as is`);
          continue;
        }
        const record = await trackedWrite(ctx, immediate.address, tagBytes(targets[0]!.retag), `${RETAG_PURPOSE} ${free.frame} (free, ${immediate.encoding})`);
        records.push({ order: records.length + 1, record, memory: ctx.memory });
        targets[0]!.patched.push(immediate.address);
        targets[0]!.freeFrames.push(free.frame);
      }
      entries.push(...added);
      const active = entries.filter((e) => e.patched.length > 0);
      // Nothing could be patched (the tag is built at run time, or the site is the kernel's own code,
      // as for nt!IoAllocateIrp's "Irp "): no write was made, and the verdict goes on without retag.
      if (active.length === 0) {
        const reason = `no call site of "${padTag(params.tag)}" could be retagged: ${warnings.join('; ')}`;
        ctx.log.warn(reason);
        return { status: 'skipped' as const, reason, outputs: { sites: [], rounds: [], collected: [], durationMs: 0, restored: true, warnings, targetTimeMs: 0, explained: 0 } };
      }
      if (!added.some((e) => e.patched.length > 0)) break;

      // Count every tag at the start and at `points` points after it: the new tags from the
      // first interval on (their in-flight blocks have filled in), the original from the start.
      // When no retagged site explains the growth yet but something rose (a new tag, or the tag
      // and its new tags together), counting goes on at the same interval, `points` more at a
      // time, up to `extend` times: a slow leak beside a noisy balanced site needs more points to
      // show, and a balanced site's refill levels off given time. Each look is a test of the
      // round's tags, so the error rate is spent evenly over the looks the round may take.
      const tags = [params.tag, ...active.map((e) => e.retag)];
      const original: GrowthPoint[] = [];
      const series = new Map<string, GrowthPoint[]>(active.map((e) => [e.retag, []]));
      // A first look comes early, at EARLY_LOOK points: a leak that already shows plainly ends the
      // round there (only a site explaining the growth does; anything else waits for `points`).
      // The error rate is spent over the looks: EARLY_SHARE of it at the early look (only a plain
      // leak passes there), the rest evenly over the full looks.
      const early = EARLY_LOOK < points ? EARLY_LOOK : undefined;
      const spent = early ? EARLY_SHARE : 0;
      const earlyRule: GrowthRule = { alpha: GROWTH_DEFAULTS.alpha * spent };
      const rule: GrowthRule = { alpha: (GROWTH_DEFAULTS.alpha * (1 - spent)) / (1 + extend) };
      const stepMs = durationMs / points;
      let planned = points;
      let look: RetagLook | undefined;
      for (let k = 0; ; k++) {
        if (k > 0) await runFor(ctx, stepMs, `seconds of retag round ${round} (${active.length} site(s) retagged), point ${k}/${planned}`);
        const counted = await countTags(ctx, tags);
        const at = (tag: string) => counted.counts.get(padTag(tag))!;
        original.push({ atMs: counted.atMs, count: at(params.tag).count, bytes: at(params.tag).bytes });
        if (k > 0) for (const e of active) series.get(e.retag)!.push({ atMs: counted.atMs, count: at(e.retag).count, bytes: at(e.retag).bytes });
        ctx.progress.update(k, planned, `round ${round}: counted ${tags.length} tag(s) at point ${k}/${planned}`);
        if (k < planned && k !== early) continue;
        for (const e of active) e.last = at(e.retag);
        look = lookAtRound(params.tag, active, original, series, growth, k < planned ? earlyRule : rule);
        // The early look ends the round only on a plain claim: a refill's rise needs the full count.
        if (growth && (k < planned ? look.plainly : look.explained) > 0) {
          planned = k;
          break;
        }
        if (k < planned) continue;
        // Something rose, or could still by the round's last look: a leak's new tag climbing
        // in steps of large blocks is not significant over 6 points and plain over 18.
        const most = points * (1 + extend);
        const rising = look.family.significant || couldStillGrow(look.family, most, look.family.threshold!, rule) || look.tested.some((t) => t.growth.significant);
        if (!growth || !rising || planned >= most) break;
        planned += points;
      }
      ranMs += planned * stepMs;
      const { growthOf, familyPoints, family } = look;
      const roundSites = active.map((e) => {
        const last = e.last ?? { count: 0, bytes: 0, allocs: 0, frees: 0 };
        const g = growthOf.get(e.retag)!;
        const { callerModules, ...named } = siteIdentity(e.site, e.path);
        return {
          ...named,
          tag: padTag(params.tag),
          retag: e.retag,
          patched: e.patched,
          outstanding: last.count,
          outstandingBytes: last.bytes,
          allocs: last.allocs,
          frees: last.frees,
          growthBytesPerMinute: Math.round(g.bytes.slope),
          points: series.get(e.retag)!,
          growth: g,
          ...(e.mismatchedFrees !== undefined && { mismatchedFrees: e.mismatchedFrees }),
          ...(callerModules && { callerModules }),
        };
      });
      rounds.push({ round, sites: roundSites, original: { points: original, growth: growthOf.get(padTag(params.tag))! }, family: { points: familyPoints, growth: family }, ...(unmasked && { unmasked }), ...(round > 1 && { stacks: unmaskStacks }) });
      explained = look.explained;
      if (!growth || explained > 0 || round === maxRounds) break;

      // Unmask: break on the original tag again; only sites not retagged yet allocate with it.
      const hit = await trackedWrite(ctx, POOL_HIT_TAG, tagBytes(padTag(params.tag)), POOL_HIT_TAG_PURPOSE);
      let result;
      try {
        result = await collectStacks({ tag: params.tag, count: params.stacks ?? 40, timeout: params.collectTimeout ?? '30s', growth: params.growth ?? null, wrappers: [...wrapperPatterns(params.wrappers), ...sharedModules([...params.sites, ...collected])] }, ctx, allocator);
      } finally {
        await restoreWrites([{ order: Number.MAX_SAFE_INTEGER, record: hit, memory: ctx.memory }]);
      }
      unmaskStacks = result.outputs.stacks;
      // A patched free site freeing a block of the original tag passed the new tag: a tag-mismatched free.
      for (const e of active) {
        const seen = result.outputs.sites.filter((f) => f.kind === 'free' && e.freeFrames.includes(f.frame)).reduce((n, f) => n + f.frees, 0);
        e.mismatchedFrees = (e.mismatchedFrees ?? 0) + seen;
      }
      const newAlloc = result.outputs.sites.filter((x) => x.kind === 'alloc' && !retaggedAlready(entries, x));
      collected.push(...newAlloc);
      // A wrapper's site retagged at its callers is unmasked by the calling drivers not retagged yet.
      unmasked = newAlloc.flatMap((x) => (x.returnAddress && state.passesOn.has(x.returnAddress) ? Object.values(x.paths ?? {}).map((p) => p.culprit.frame).filter((frame) => !entries.some((e) => e.site.frame === x.frame && e.path?.culprit.frame === frame)) : [x.frame]));
      sites = result.outputs.sites;
    }
    const last = rounds[rounds.length - 1];
    const ended = await targetClockMs(ctx);
    return {
      status: 'ok' as const,
      outputs: {
        sites: last?.sites ?? [],
        rounds,
        collected,
        durationMs: Math.round(ranMs),
        targetTimeMs: Math.max(0, ended.ms - started.ms),
        restored: true,
        warnings,
        explained,
      },
      summary: rounds.map((r) => `round ${r.round}: ${r.sites.map((x) => `${x.frame} as "${x.retag}" ${x.growth ? trendWords({ ...x.growth, allocsPerMinute: x.growth.count.slope, bytesPerMinute: x.growth.bytes.slope }) : 'levels off'} (${Math.round(x.growth?.count.slope ?? 0)}/min)`).join('; ')}`).join(' | '),
    };
  } finally {
    if (records.length > 0) await restoreWrites(records);
  }
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
        pooltagFile: { type: 'string', minLength: 1, description: 'A pooltag.txt whose tags must not be chosen.' },
        maxSites: { type: 'integer', minimum: 1, maximum: 32, description: 'Retag at most this many allocation sites in all rounds (default 8).' },
        points: { type: 'integer', minimum: 3, maximum: 100, description: 'Count every new tag at this many points over `duration` (default 6; the growth test needs 4 to show a rise goes on); the first count, at the patch, only starts the original tag\'s series. With more than 4, the round looks once early, at point 4, and ends there when a retagged site already explains the growth.' },
        extend: { type: 'integer', minimum: 0, maximum: 10, description: 'While no retagged site explains the growth but a new tag (or the tag with its new tags) rose, or the tag with its new tags could still rise significantly by the last look, count `points` more at the same interval, up to this many times (default 2: a round runs at most 3 × `duration`). The growth tests of a round spend its error rate over its looks: a tenth at the early look, the rest evenly over the full ones.' },
        growth: { ...suspectSchema, description: 'The suspect\'s growth (rank-tags\' `suspect`): each round stops the hunt once a retagged site explains it.' },
        rounds: { type: 'integer', minimum: 1, maximum: 10, description: 'Unmasking rounds in all (default 1): while the retagged sites do not explain the growth, collect stacks again on the original tag (only unseen sites hit it now) and retag those too.' },
        stacks: { type: 'integer', minimum: 1, maximum: 100000, description: 'Stacks each unmasking round collects (default 40).' },
        collectTimeout: { ...durationSchema, description: 'Time budget of each unmasking collection (default 30s).' },
        wrappers: { ...wrappersSchema, description: 'More allocator wrappers for the unmasking collections (as pool.collect-stacks).' },
      },
    },
    outputs: {
      sites: { type: 'array', description: 'Per allocation site: frame, module, function, offset, retag, patched, outstanding, outstandingBytes, growthBytesPerMinute.' },
      durationMs: { type: 'integer', description: 'Target time the retagged code ran.' },
      restored: { type: 'boolean', description: 'Every patched byte is back.' },
      warnings: { type: 'array', description: 'Sites or free sites that could not be patched, and why.' },
      rounds: { type: 'array', description: 'Each round: the sites retagged (new tag counted at every point, growth test, tag-mismatched frees seen), the original tag\'s series, and the sites unmasked before it.' },
      collected: { type: 'array', description: 'Sites seen by the unmasking collections (as pool.collect-stacks outputs them).' },
      targetTimeMs: { type: 'integer', description: 'Target time the retag used.' },
      explained: { type: 'number', description: 'The largest share of the growth one retagged site explains (0 when none does).' },
    },
    checkCommands(params, ctx) {
      const later = ctx.atRunTime(params.sites);
      const sites = later !== undefined ? [] : (params.sites ?? []).filter((s) => s.kind === 'alloc');
      const disassemble = later !== undefined ? [`u <return address>-0x20 L10 (each allocation site of ${later})`] : sites.map((s) => `u ${s.returnAddress ?? '<return address>'}-0x20 L10`);
      return ['!poolused', ...disassemble, "u <calling driver's return address>-0x20 L10 (a wrapper's call without a tag immediate: each calling driver's call into it)", 'eb <immediate> <new tag bytes>', 'g', '(break in after the duration)', '!poolused 4 <new tag>', '(restore every patched byte)'];
    },
    async run(params, ctx) {
      return retagRounds(params, ctx);
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
