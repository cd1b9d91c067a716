/**
 * The verdict's evidence rule: a `leak` verdict names a site only when the evidence about that
 * site accounts for the tag's measured growth. Otherwise `inconclusive`, with the reason and
 * what to try. Used by the live hunt (report.verdict) and offline analysis alike. Pure: no I/O.
 *
 * Evidence, strongest first:
 * - **retag**: the site had a tag of its own for a while, counted at 3 or more points; its new
 *   tag passed the growth test (src/evidence/growth.ts) and its slope explains the growth;
 * - **pairing**: the site's lifetime-corrected leak rate (src/evidence/lifetimes.ts) explains
 *   the growth and its interval excludes 0.
 * A site explains the growth when its leak rate is at least `EXPLAINED_SHARE` (½) of the tag's
 * growth rate, in the measure (allocations or bytes) that showed the tag's growth.
 */
import { callsBack, frameParts } from './classify.js';
import { formatP, type SeriesGrowth } from './growth.js';
import type { RateRange, SiteLeakRate } from './lifetimes.js';

/** The share of the tag's growth the named site must explain. */
export const EXPLAINED_SHARE = 0.5;
/** A pairing rate whose lower bound is above this share of the tag's growth contradicts it. */
export const MAX_EXPLAINED = 1.5;
/**
 * A new tag that rose faster than the tag and all its new tags together by more than this many
 * standard errors was refilling: part of its rise is balanced blocks replacing old ones that
 * drained from the original tag, so the rise overstates its leak.
 */
export const REFILL_Z = 2;
/**
 * A retag round's original tag that still falls over its last half with one-sided p under this
 * has blocks from before the retag still being freed: the culprit's rise may be a cache filling.
 */
export const DRAIN_P = 0.01;

/**
 * The growth stopped: in the latest retag round the tag with all its new tags rose, at the upper
 * end of its slope (STOPPED_Z standard errors above the estimate), less than this share of what
 * the ranking measured, in every measure the ranking measured. A working set that filled (a
 * cache warming after boot, tunnels coming up) grows while ranked and is flat by the time its
 * sites are counted apart; a leak goes on rising in the tag and its new tags together.
 */
export const STOPPED_SHARE = 0.25;
/** How far above its estimate the stopped growth's slope is taken (one-sided, about 0.1%). */
export const STOPPED_Z = 3;
/** The fewest counts of a round that can show the growth stopped. */
const STOPPED_POINTS = 12;

/** The tag's growth, as the ranking measured it. */
export interface TagGrowthEvidence {
  tag: string;
  pool: 'paged' | 'nonpaged';
  allocsPerMinute?: number;
  bytesPerMinute: number | null;
  /** The measure that showed the growth (default count when allocsPerMinute is known). */
  measure?: 'count' | 'bytes';
}

/** A site and the driver to blame for it (the classification's attribution). */
export interface SiteIdentity {
  /** `module!function+0xoffset` of the allocation call site. */
  frame: string;
  module: string;
  function?: string;
  offset: number;
  /** The wrapper's (framework's) call site this driver frame called through, when there is one. */
  site?: string;
  /** Modules whose frames called this site (its own excluded). */
  callerModules?: string[];
}

/**
 * A site whose callers are another driver's (not the kernel's or a framework's calling back)
 * allocates on that driver's behalf — a helper library: the driver to blame is the caller, so
 * the site itself is never named; the classification attributes such paths when the helper is
 * in the wrapper list.
 */
function sharedHelper(site: SiteIdentity): string | undefined {
  // The kernel and the frameworks call drivers' callbacks; only other drivers' calls count.
  const others = (site.callerModules ?? []).filter((m) => !callsBack(m));
  if (others.length === 0) return undefined;
  return `it allocates on behalf of ${others.slice(0, 4).join(', ')} (the first calling frame outside ${site.module}): a helper, not named as the driver to blame; if it only allocates for them (a library), add it to the wrappers (\`--input wrappers=${site.module}!*\`) so each calling driver's path is measured; if its own code may drop blocks (an error path inside it), read its calling paths in report.md instead`;
}

/** What pairing said about one allocation site. */
export interface PairedSite extends SiteIdentity {
  allocs: number;
  leakRate?: SiteLeakRate;
  /** The site's calling paths inside its own module (the frame right below it), each with its own pairing. */
  callerPaths?: PairedSite[];
  /**
   * The site's allocations grouped by the frame where their caller chains part (when they part),
   * each group with its own pairing and the modules whose code freed its blocks.
   */
  requesters?: PairedSite[];
  /** Frees of the site's (or the group's) blocks by free site (`module!function+0x…`). */
  freedBy?: Record<string, number>;
}

/** One retagged site, counted over time. */
export interface RetaggedSiteEvidence extends SiteIdentity {
  retag: string;
  /** The growth test of its new tag's series (corrected over the round's series). */
  growth?: SeriesGrowth;
  /** Tag-mismatched frees counted while retagged, when known. */
  mismatchedFrees?: number;
}

/** A retagged site as a retag round reports it (pool.retag-sites' `rounds[].sites[]`). */
export interface RetaggedSiteLike extends SiteIdentity {
  retag: string;
  growth?: SeriesGrowth;
  mismatchedFrees?: number;
  /** A wrapper's site called from one driver's path: that driver's frame. */
  culprit?: SiteIdentity;
}

/**
 * A retagged site as the verdict weighs it: a wrapper's site called from one driver's path stands
 * for that driver (the wrapper kept as `site`); any other site keeps the modules that called it.
 * The retag round (deciding whether to count on or unmask) and the verdict both read it so.
 */
export function retaggedEvidence(s: RetaggedSiteLike): RetaggedSiteEvidence {
  return {
    ...identity(s.culprit ?? s),
    ...(s.culprit && { site: s.frame }),
    ...(!s.culprit && s.callerModules && { callerModules: s.callerModules }),
    retag: s.retag,
    ...(s.growth && { growth: s.growth }),
    ...(s.mismatchedFrees !== undefined && { mismatchedFrees: s.mismatchedFrees }),
  };
}

/** One round of retagging (round 1: the sites first seen; later rounds: the ones unmasked). */
export interface RetagRoundEvidence {
  round: number;
  sites: RetaggedSiteEvidence[];
  /** The original tag's series while these sites were away. */
  original?: SeriesGrowth;
  /** The original tag and every new tag together: the growth must still be there while watched. */
  family?: SeriesGrowth;
  /** Stacks collected again on the original tag in this round (unmasking), by allocation site. */
  unmasked?: string[];
}

/** Everything the verdict is decided from. */
export interface VerdictEvidence {
  /** `growth`: the ranking measured growth over several samples; `size`: one sample; absent: no ranking. */
  basis?: 'size' | 'growth';
  /** The suspect tag's growth (null when growth was measured and nothing grows). */
  growth: TagGrowthEvidence | null;
  /** Why the ranking chose (or did not choose) a suspect. */
  rankReason?: string;
  /** The ranking found no suspect but ended with this tag still undecided (its budget spent). */
  rankUndecided?: string;
  /** The tag hunted without a ranking. */
  tag?: string;
  paired: PairedSite[];
  /** Stacks collected (all rounds), for messages. */
  stacks?: number;
  /** `unpatched`: why no site seen could be retagged (none was), when retag was tried. */
  retag?: { rounds: RetagRoundEvidence[]; finished: boolean; unpatched?: string };
  /** The run did not finish as planned (a failed step, Ctrl+C): why. */
  interrupted?: string;
  /**
   * Evidence the live hunt has that this source lacks (offline analysis of a log: target times,
   * the growth test, retag counts), in words. It changes no rule: what is missing cannot explain
   * growth, so the verdict falls to `inconclusive`, and its reason says what was missing.
   */
  missing?: string;
}

/** One site's claim to explain the growth. */
export interface Candidate {
  frame: string;
  method: 'pairing' | 'retag';
  /** Leaked allocations (or bytes, per `measure`) per minute and the interval, when known. */
  rate?: RateRange;
  measure: 'count' | 'bytes';
  /** rate ÷ the tag's growth rate. */
  explained?: number;
  /** Does it pass the rule (significant, still growing, explains ≥ EXPLAINED_SHARE)? */
  explains: boolean;
  why: string;
  /** A retagged site whose new tag rose faster than the tag with its new tags together (REFILL_Z): its rise and the family's. */
  refill?: { rate: number; family: number };
}

/** The decision. */
export interface VerdictDecision {
  verdict: 'leak' | 'no-leak' | 'inconclusive';
  reason: string;
  /** The site named (leak only). */
  culprit?: SiteIdentity;
  /** Which evidence named it. */
  method?: 'pairing' | 'retag';
  /**
   * The calling path inside the culprit's module whose evidence explains the leak (leak only):
   * the one path whose own lifetime-corrected leak rate explains the growth while no other
   * path's does. Never a path whose evidence does not.
   */
  path?: SiteIdentity;
  /** The share of the tag's growth the named site (or, when none is named, the best one) explains. */
  explained?: number;
  candidates: Candidate[];
  /** What to try next (inconclusive). */
  next?: string;
}

// The growth rate in the chosen measure.
function tagRate(growth: TagGrowthEvidence): { measure: 'count' | 'bytes'; rate: number | undefined } {
  const measure = growth.measure ?? (growth.allocsPerMinute !== undefined ? 'count' : 'bytes');
  return { measure, rate: measure === 'count' ? growth.allocsPerMinute : growth.bytesPerMinute ?? undefined };
}

/** A pairing site's claim. */
export function pairingCandidate(site: PairedSite, growth: TagGrowthEvidence): Candidate {
  const { measure, rate: tag } = tagRate(growth);
  const shared = sharedHelper(site);
  if (shared) return { frame: site.frame, method: 'pairing', measure, explains: false, why: shared };
  const lr = site.leakRate;
  const rate = measure === 'count' ? lr?.leakAllocsPerMinute : lr?.leakBytesPerMinute;
  if (!lr || lr.status !== 'measured' || !rate) {
    const status = !lr ? 'no lifetimes measured' : lr.seen === 0 ? 'no block address of its allocations was read, so none could be paired with a free' : lr.status === 'no-frees' ? `none of its ${lr.seen} allocations seen was freed while watched (leaked, or longer-lived than the watch)` : `too few of its allocations were freed while watched (${lr.freed}) to know their normal lifetime`;
    return { frame: site.frame, method: 'pairing', measure, explains: false, why: status };
  }
  const explained = tag && tag > 0 ? rate.estimate / tag : undefined;
  const unit = measure === 'count' ? 'allocations/min' : 'bytes/min';
  const words = `leaks ${fmt(rate.estimate)} ${unit} (95%: ${fmt(rate.low)}–${fmt(rate.high)}; ${lr.leaked} of ${lr.leaked + lr.freed} judged allocations outlived ${lr.normalLifetimeMs !== undefined ? `${fmt(lr.normalLifetimeMs)} ms` : `${fmt(lr.normalLifetimeHits ?? 0)} hits`}, ${lr.inFlight} in flight)`;
  if (rate.low <= 0 || lr.leaked < 2) return { frame: site.frame, method: 'pairing', rate, measure, ...(explained !== undefined && { explained }), explains: false, why: `${words}: not significantly above 0` };
  // A site cannot leak much faster than its tag grows: such a rate says the lifetimes were misjudged.
  if (tag && tag > 0 && rate.low > MAX_EXPLAINED * tag) {
    return { frame: site.frame, method: 'pairing', rate, measure, ...(explained !== undefined && { explained }), explains: false, why: `${words}: at least ${pct(rate.low / tag)} of the tag's growth, more than the tag grows; its lifetimes were misjudged` };
  }
  if (explained === undefined || explained < EXPLAINED_SHARE) {
    return { frame: site.frame, method: 'pairing', rate, measure, ...(explained !== undefined && { explained }), explains: false, why: `${words}: ${explained === undefined ? 'the tag\'s growth rate is unknown' : `${pct(explained)} of the tag's growth`}` };
  }
  return { frame: site.frame, method: 'pairing', rate, measure, explained, explains: true, why: `${words}: ${pct(explained)} of the tag's growth` };
}

/** A retagged site's claim. */
export function retagCandidate(site: RetaggedSiteEvidence, growth: TagGrowthEvidence, family?: SeriesGrowth): Candidate {
  const { measure, rate: tag } = tagRate(growth);
  const shared = sharedHelper(site);
  if (shared) return { frame: site.frame, method: 'retag', measure, explains: false, why: shared };
  // A balanced site with long-lived blocks refills its new tag while its old blocks drain from the
  // original: the sum stays flat. Only a leak keeps the tag and its new tags growing together.
  if (family && !family.growing) {
    return { frame: site.frame, method: 'retag', measure, explains: false, why: `while retagged, the tag and its new tags together did not keep growing (${family.why}): the growth is not confirmed` };
  }
  const g = site.growth;
  if (!g) return { frame: site.frame, method: 'retag', measure, explains: false, why: `its new tag "${site.retag}" was not counted at 3 or more points` };
  const fit = measure === 'count' ? g.count : g.bytes;
  const rate = { estimate: fit.slope, low: fit.slope - 2 * fit.standardError, high: fit.slope + 2 * fit.standardError };
  const explained = tag && tag > 0 ? fit.slope / tag : undefined;
  const unit = measure === 'count' ? 'allocations/min' : 'bytes/min';
  const words = `as "${site.retag}" ${g.growing ? 'grows' : 'rose'} ${fmt(fit.slope)} ${unit}`;
  if (!g.growing) return { frame: site.frame, method: 'retag', rate, measure, ...(explained !== undefined && { explained }), explains: false, why: `${words}: ${g.why}` };
  if (explained === undefined || explained < EXPLAINED_SHARE) {
    return { frame: site.frame, method: 'retag', rate, measure, ...(explained !== undefined && { explained }), explains: false, why: `${words}: ${explained === undefined ? 'the tag\'s growth rate is unknown' : `only ${pct(explained)} of the tag's growth`}` };
  }
  const refill = refillOf(fit, family, measure);
  // A refill's own rise is not its leak: the tag with all its new tags rises only by what leaks,
  // so a refilling site explains at most the family's rise.
  if (refill && tag && tag > 0 && refill.family / tag < EXPLAINED_SHARE) {
    return { frame: site.frame, method: 'retag', rate, measure, explained, explains: false, why: `${words}, but faster than the tag with all its new tags together (${fmt(refill.family)} ${unit}): the rise is mostly a refill of balanced blocks whose old ones drained from the original tag, and the tag with its new tags rose only ${pct(refill.family / tag)} of the tag's growth`, refill };
  }
  return { frame: site.frame, method: 'retag', rate, measure, explained, explains: true, why: `${words}, still rising: ${pct(explained)} of the tag's growth`, ...(refill && { refill }) };
}

// A new tag's rise against the family's over the same round: faster by more than REFILL_Z
// standard errors, it holds a refill of balanced blocks besides any leak.
function refillOf(fit: SeriesGrowth['count'], family: SeriesGrowth | undefined, measure: 'count' | 'bytes'): Candidate['refill'] {
  if (!family) return undefined;
  const whole = measure === 'count' ? family.count : family.bytes;
  const error = Math.hypot(fit.standardError, whole.standardError);
  return fit.slope - whole.slope > REFILL_Z * error ? { rate: fit.slope, family: whole.slope } : undefined;
}

/**
 * Claims that cannot all be true: when a site's evidence matches the tag's rise while watched and
 * a retagged site's rise outran it (a refill), the refilling site's rise is not its leak, and its
 * claim is set aside for the one that matches.
 */
function setAsideRefills(candidates: readonly Candidate[]): Candidate[] {
  const matching = candidates.find((c) => c.explains && !c.refill);
  if (!matching) return [...candidates];
  const unit = (c: Candidate) => (c.measure === 'count' ? 'allocations/min' : 'bytes/min');
  return candidates.map((c) => (c.explains && c.refill
    ? { ...c, explains: false, why: `${c.why}, but faster than the tag with all its new tags together (${fmt(c.refill.family)} ${unit(c)}): the rise is partly a refill of balanced blocks whose old ones drained from the original tag, while ${matching.frame} accounts for the tag's rise` }
    : c));
}

/** Decide the verdict from the evidence. */
export function decideVerdict(e: VerdictEvidence): VerdictDecision {
  const decision = decide(e);
  if (!e.missing || decision.verdict !== 'inconclusive') return decision;
  return { ...decision, reason: `${decision.reason} (${e.missing})`, next: `${decision.next ? `${decision.next}; or ` : ''}run the hunt live (find-pool-leak.yaml), which measures what the log lacks` };
}

// The rule itself.
function decide(e: VerdictEvidence): VerdictDecision {
  const sitesSeen = new Map<string, SiteIdentity>();
  for (const s of e.paired) sitesSeen.set(s.frame, s);
  for (const round of e.retag?.rounds ?? []) for (const s of round.sites) sitesSeen.set(s.frame, s);
  // An interrupted collection has stacks on disk but no sites: say only what is known.
  const collected = `${e.stacks ?? 0} stacks${e.paired.length > 0 ? ` from ${e.paired.length} allocation site(s)` : ''}${e.retag && e.retag.rounds.length > 0 ? `, ${e.retag.rounds.length} retag round(s) of ${e.retag.rounds.reduce((n, r) => n + r.sites.length, 0)} site(s)` : ''}`;

  if (e.interrupted) {
    return { verdict: 'inconclusive', reason: `the run did not finish (${e.interrupted}); collected ${collected}`, candidates: [], next: 'run the hunt again to its end; `leakhunt resume <run-dir>` goes on from what was collected' };
  }
  if (e.basis === 'growth' && e.growth === null) {
    // A tag more samples could still have decided is not evidence of no leak.
    if (e.rankUndecided) return { verdict: 'inconclusive', reason: e.rankReason ?? `tag "${e.rankUndecided}" was still undecided when sampling ended`, candidates: [], next: `rank longer (a longer growth-budget) so tag "${e.rankUndecided}" is decided` };
    return { verdict: 'no-leak', reason: e.rankReason ?? 'no tag grew over the samples', candidates: [] };
  }
  if (!e.growth) {
    const tag = e.tag ? `tag "${e.tag}"` : 'no suspect tag';
    // The sites seen are still weighed (their rates shown), against a growth that is not known.
    const unknown: TagGrowthEvidence = { tag: e.tag ?? '', pool: 'paged', bytesPerMinute: null, measure: 'count' };
    return {
      verdict: 'inconclusive',
      reason: e.basis === 'size' ? `${tag} was chosen by size only; its growth was not measured` : `${tag}: the ranking did not run or named none`,
      candidates: e.paired.map((s) => pairingCandidate(s, unknown)),
      next: 'rank with several samples (pool.rank-tags samples ≥ 4) so the culprit can be held to the growth it must explain',
    };
  }
  const g = e.growth;
  const { measure, rate } = tagRate(g);
  const growthWords = `tag "${g.tag}" grows ${fmt(rate ?? 0)} ${measure === 'count' ? 'allocations' : 'bytes'}/min of ${g.pool} pool`;

  // Retag evidence of the latest round each site was in.
  const retagged = new Map<string, { site: RetaggedSiteEvidence; family?: SeriesGrowth }>();
  for (const round of e.retag?.rounds ?? []) for (const s of round.sites) retagged.set(s.frame, { site: s, ...(round.family && { family: round.family }) });
  const retagCandidates = [...retagged.values()].map((r) => retagCandidate(r.site, g, r.family));
  const pairingCandidates = e.paired.filter((s) => !retagged.has(s.frame)).map((s) => pairingCandidate(s, g));
  const candidates = setAsideRefills([...retagCandidates, ...pairingCandidates]);
  const byExplained = (a: Candidate, b: Candidate) => (b.explained ?? -Infinity) - (a.explained ?? -Infinity);

  if (e.retag && !e.retag.finished) {
    return { verdict: 'inconclusive', reason: `${growthWords}, but the retag did not finish; collected ${collected}`, candidates, next: 'run the retag again to its end' };
  }
  const explaining = candidates.filter((c) => c.explains).sort((a, b) => (a.method === b.method ? 0 : a.method === 'retag' ? -1 : 1) || byExplained(a, b));
  const best = explaining[0];
  if (best) {
    const site = sitesSeen.get(best.frame)!;
    const others = candidates.filter((c) => c !== best).map((c) => `${c.frame} ${c.why}`);
    const paired = e.paired.find((s) => s.frame === best.frame);
    // A leak that follows one of several paths inside the allocating driver is that driver's code;
    // otherwise blocks handed to their callers may be a caller's to free.
    const inModule = leakingPath(paired?.callerPaths ?? [], g);
    const chosen = inModule !== undefined && (paired?.callerPaths?.length ?? 0) >= 2;
    const owner = !chosen && paired ? owningCaller(paired, g) : undefined;
    const path = owner ? undefined : inModule;
    // The best claim stands, but what it shows is not yet whose leak it is: inconclusive, and why.
    const claim = `${growthWords}; ${best.method === 'retag' ? 'retagged, ' : ''}${best.frame} ${best.why}`;
    const notYet = (but: string, next: string): VerdictDecision => ({ verdict: 'inconclusive', reason: `${claim}, but ${but}`, explained: best.explained!, candidates, next });
    const handed = !owner && !chosen && paired ? handedOver(paired) : undefined;
    if (handed) {
      return notYet(
        `its blocks are handed over: ${handed.words}, ${site.module} none, so either ${handed.owners} does not free all it receives or ${site.module} drops some before handing them over, and the stacks cannot tell which`,
        `read ${handed.owners}'s free path (${handed.frees}) and ${site.module}'s paths to the hand-over; a longer collection (the stacks input) may show other callers of ${best.frame}, whose balance tells the two apart`,
      );
    }
    const draining = best.method === 'retag' ? stillDraining(e.retag?.rounds ?? [], best) : undefined;
    if (draining) {
      return notYet(
        `the blocks under the original tag are still being freed ${draining} over the round's last half: blocks allocated before the retag live longer than the round and are freed, so the new tag's rise may be a working set still filling (a cache warming after boot) rather than a leak`,
        'watch longer: a longer retag round (retag-duration) shows whether the new tag levels off as the old blocks stop draining; a leak keeps rising after they have',
      );
    }
    const chainOnly = !chosen && !owner && paired ? leakFollowsChain(paired) : undefined;
    if (chainOnly) {
      const other = chainOnly.chain.module;
      return notYet(
        `the blocks left unfreed all came through ${chainOnly.chain.frame} (${chainOnly.unfreed} of its ${chainOnly.chain.leakRate!.seen} allocations seen), while every one seen through the other chains was freed (${chainOnly.balanced}; p = ${formatP(chainOnly.p)} that the unfreed ones would all fall on that chain by chance): either ${other} keeps them from being freed (a filter completing or swallowing the requests whose handling frees them, or dropping what it is handed) or ${site.module} leaks only on its requests, and the stacks cannot tell which`,
        `read what ${other} does with the requests after ${chainOnly.chain.frame} (completion routines, requests it completes itself, what it is handed back) and ${site.module}'s free path for them; break on ${site.module}'s free site while only ${other}'s requests run`,
      );
    }
    const unseenPath = !chosen && !owner && paired ? pathNotSeen(paired) : undefined;
    if (unseenPath) {
      return notYet(
        `${site.module} calls it from ${unseenPath.count} paths and none seen leaks: ${unseenPath.paths}; the leaking calls go through a path too rare among the stacks to show`,
        `collect more stacks (the stacks input) until the rarer paths into ${best.frame} show allocations that outlive the others, or break on each path's call (bp on its return address) and count`,
      );
    }
    return {
      verdict: 'leak',
      reason: `${claim}${owner ? `; ${owner.why}` : path ? `; ${path.why}` : ''}${others.length > 0 ? `; ${others.slice(0, 3).join('; ')}` : ''}`,
      culprit: owner ? { ...owner.owner, site: site.frame } : site,
      ...(path && { path: path.path }),
      method: best.method,
      explained: best.explained!,
      candidates,
    };
  }
  const top = [...candidates].sort(byExplained)[0];
  if (candidates.length === 0) {
    return { verdict: 'inconclusive', reason: `${growthWords}, but no allocation stack was collected${e.stacks ? ` (${e.stacks} stacks read)` : ''}`, candidates, next: 'collect longer (pool.collect-stacks timeout) or check that PoolHitTag fires on this version' };
  }
  const tried = e.retag && e.retag.rounds.length > 0;
  const stopped = tried ? growthStopped(e.retag!.rounds, g) : undefined;
  if (stopped) {
    return {
      verdict: 'no-leak',
      reason: `${growthWords} while ranked, but the growth stopped: ${stopped}; a working set that filled (a cache warming, connections coming up) rises and then holds, a leak goes on rising; collected ${collected}`,
      candidates,
    };
  }
  return {
    verdict: 'inconclusive',
    reason: `${growthWords}, but no site seen explains it (${EXPLAINED_SHARE * 100}% needed): ${candidates.slice(0, 4).map((c) => `${c.frame} ${c.why}`).join('; ')}; collected ${collected}`,
    ...(top?.explained !== undefined && { explained: top.explained }),
    candidates,
    next: tried
      ? 'the growth comes from sites not seen yet or needs a longer count: raise the unmasking rounds (unmask-rounds) and the retag duration (retag-duration)'
      : e.retag?.unpatched
        ? `the sites seen could not be retagged (${e.retag.unpatched}), so the sites not seen cannot be unmasked: collect more stacks (the stacks input) so that rarer sites show among them`
        : 'retag the sites seen (pool.retag-sites) so they are counted apart and the unseen ones show',
  };
}

/**
 * The calling path (inside the site's module) that explains a named site's leak:
 * - among several paths, the one whose own lifetime-corrected leak rate explains the growth while
 *   no other path's does;
 * - the only path seen: all the site's allocations seen came through it, so the evidence that
 *   named the site is its evidence too — unless its own lifetimes contradict it (its frees show
 *   it balanced: then a rarer path not seen may leak through the same return address, which a
 *   retag counts as one).
 * A path whose evidence does not explain the growth is never named.
 */
export function leakingPath(paths: readonly PairedSite[], growth: TagGrowthEvidence): { path: SiteIdentity; why: string } | undefined {
  const judged = paths.map((p) => ({ p, c: pairingCandidate(p, growth) }));
  const explaining = judged.filter(({ c }) => c.explains);
  if (explaining.length === 1) {
    const { p, c } = explaining[0]!;
    return { path: identity(p), why: `${paths.length === 1 ? 'its only calling path seen' : `of its ${paths.length} calling paths`}, ${p.frame}, ${c.why}` };
  }
  if (judged.length !== 1 || explaining.length > 0) return undefined;
  const { p, c } = judged[0]!;
  // Measured lifetimes that do not explain the growth contradict it.
  if (c.rate) return undefined;
  return { path: identity(p), why: `all ${p.allocs} of its allocations seen came through ${p.frame} (its own lifetimes: ${c.why})` };
}

/**
 * The latest retag round's tag with its new tags, when its rise stopped (STOPPED_SHARE): the
 * growth the ranking measured is no longer there. Undefined when that round rose significantly,
 * was counted at fewer than STOPPED_POINTS points, or its upper bound reaches the share in any
 * measure the ranking measured.
 */
export function growthStopped(rounds: readonly RetagRoundEvidence[], growth: TagGrowthEvidence): string | undefined {
  const round = rounds[rounds.length - 1];
  const family = round?.family;
  if (!family || family.significant || family.points < STOPPED_POINTS) return undefined;
  const measured = ([['count', growth.allocsPerMinute, 'allocations/min'], ['bytes', growth.bytesPerMinute, 'bytes/min']] as const).filter(([, ranked]) => ranked !== undefined && ranked !== null && ranked > 0);
  if (measured.length === 0) return undefined;
  const bounds = measured.map(([m, ranked, unit]) => ({ fit: family[m], ranked: ranked!, unit, high: family[m].slope + STOPPED_Z * family[m].standardError }));
  if (bounds.some((b) => b.high >= STOPPED_SHARE * b.ranked)) return undefined;
  const words = bounds.map((b) => `${fmt(b.fit.slope)} ${b.unit} (at most ${fmt(Math.max(0, b.high))}, under ${pct(STOPPED_SHARE)} of the ranked ${fmt(b.ranked)})`);
  return `over retag round ${round.round}'s ${family.points} counts the tag with its new tags rose ${words.join(' and ')}`;
}

/**
 * The original tag still falling over the recent half of the latest round that retagged the
 * named site: blocks allocated before the retag are still being freed, long after it. A site
 * whose blocks live longer than the round and are freed (a cache) rises under its new tag while
 * it fills; a leak's old blocks stay. The fall is the named site's when it was the only site of
 * the round, or when its own new tag outran the tag with its new tags (its refill): in a round of
 * several sites another one's old blocks may be the ones draining. The fall, in words, when it is
 * significant (DRAIN_P).
 */
function stillDraining(rounds: readonly RetagRoundEvidence[], named: Candidate): string | undefined {
  const round = [...rounds].reverse().find((r) => r.sites.some((s) => s.frame === named.frame));
  const recent = round?.original?.recent;
  if (!round?.original || !recent || (round.sites.length > 1 && !named.refill)) return undefined;
  if (recent.fit.slope >= 0 || 1 - recent.fit.pRising > DRAIN_P) return undefined;
  const unit = round.original.measure === 'count' ? 'allocations/min' : 'bytes/min';
  return `(${fmt(-recent.fit.slope)} ${unit}, p = ${formatP(1 - recent.fit.pRising)})`;
}

/**
 * A named site that its driver calls from several paths, none of which the pairing shows leaking:
 * no allocation seen on any path outlived its normal lifetime, and each path whose frees were
 * too few to judge had none still alive. The site leaks (its tag or retag count says so), but
 * through a path that is rare among the stacks; naming the site would name the helper every path
 * shares, and the code to fix is one of its callers.
 */
export function pathNotSeen(site: PairedSite): { count: number; paths: string } | undefined {
  const paths = site.callerPaths ?? [];
  if (paths.length < 2) return undefined;
  const quiet = (p: PairedSite) => p.leakRate !== undefined && p.leakRate.status !== 'no-frees' && p.leakRate.leaked === 0;
  if (!paths.every(quiet)) return undefined;
  const words = paths.map((p) => `${p.frame} (${p.allocs} seen, ${p.leakRate!.freed} freed)`);
  return { count: paths.length, paths: words.join(', ') };
}

/**
 * The caller that owns what a named site allocates, when the site hands its blocks over (the
 * answer to an IRP belongs to the IRP's sender): the site's allocations part into groups by the
 * frame where their caller chains part, and
 * - one group's own lifetime-corrected leak rate explains the growth, and no other group leaks
 *   significantly: only the calls through that frame leak;
 * - no block of the site was freed by its own module, and that frame's driver (not the kernel's
 *   or a framework's) freed some of the blocks it asked for: they are that driver's to free.
 * Then the driver to blame is the caller, and the site is where its blocks were allocated. Code
 * that leaks on one caller's requests frees its own blocks, which the second condition rules out.
 */
export function owningCaller(site: PairedSite, growth: TagGrowthEvidence): { owner: SiteIdentity; why: string } | undefined {
  const groups = site.requesters ?? [];
  if (groups.length < 2) return undefined;
  const judged = groups.map((p) => ({ p, c: pairingCandidate(p, growth) }));
  const explaining = judged.filter(({ c }) => c.explains);
  if (explaining.length !== 1) return undefined;
  const { p, c } = explaining[0]!;
  const others = judged.filter((j) => j !== explaining[0]);
  if (others.some(({ c: o }) => o.rate !== undefined && o.rate.low > 0)) return undefined;
  const own = site.module.toLowerCase();
  const freers = freersOf(groups);
  if (freers.has(own) || p.module.toLowerCase() === own || callsBack(p.module)) return undefined;
  if (!freersOf([p]).has(p.module.toLowerCase())) return undefined;
  const freedWords = [...freers].map(([module, { n }]) => `${module} ${n}`).join(', ');
  const otherWords = others.map(({ p: o }) => `${o.allocs} through ${o.frame}`).join(', ');
  return {
    owner: identity(p),
    why: `${site.module} frees none of its blocks, its callers do (${freedWords}): only the calls through ${p.frame} leak (${c.why}), not the allocations ${otherWords}; ${p.module} does not free all it asked for`,
  };
}

/** A chain's unfreed allocations this unlikely to fall on it alone by chance (one-sided, exact) make the leak follow the chain. */
export const CHAIN_P = 0.01;

/**
 * The leak follows one requester's chain through another driver: the site's allocations part into
 * groups by the frame where their caller chains part; every allocation seen on every other
 * chain was freed while watched, and the ones left unfreed all came down one chain, whose parting
 * frame is another driver's (not the kernel's or a framework's calling back). Were the unfreed
 * ones spread over the chains as their allocations are, all of them landing on that chain would
 * have the hypergeometric probability C(n, u) / C(N, u); under CHAIN_P, the leak goes with the
 * requests through that driver. Whose code it is the stacks cannot tell: the driver on the chain
 * may keep the blocks from being freed (a filter that completes or swallows the requests whose
 * handling frees them, or drops what it is handed), or the allocating code may leak only on
 * those requests.
 */
export function leakFollowsChain(site: PairedSite): { chain: PairedSite; unfreed: number; balanced: string; p: number } | undefined {
  const groups = site.requesters ?? [];
  if (groups.length < 2 || groups.some((g) => !g.leakRate)) return undefined;
  const unfreedOf = (g: PairedSite) => Math.max(0, g.leakRate!.seen - g.leakRate!.freed);
  const leaving = groups.filter((g) => unfreedOf(g) > 0);
  if (leaving.length !== 1) return undefined;
  const chain = leaving[0]!;
  const module = chain.module.toLowerCase();
  if (module === site.module.toLowerCase() || callsBack(chain.module)) return undefined;
  const unfreed = unfreedOf(chain);
  const total = groups.reduce((n, g) => n + g.leakRate!.seen, 0);
  let p = 1;
  for (let i = 0; i < unfreed; i++) p *= (chain.leakRate!.seen - i) / (total - i);
  if (p >= CHAIN_P) return undefined;
  const balanced = groups.filter((g) => g !== chain).map((g) => `${g.leakRate!.seen} through ${g.frame}`).join(', ');
  return { chain, unfreed, balanced, p };
}

/**
 * A site whose blocks are all freed by other drivers (none by its own module, and not only by the
 * kernel or a framework): ownership is handed over, and a leak of it is either the receivers'
 * (they do not free all they receive) or the site's driver's (it drops some before handing them
 * over). Undefined when the site frees its own blocks, or no free was seen.
 */
export function handedOver(site: PairedSite): { words: string; owners: string; frees: string } | undefined {
  const byModule = freersOf([site]);
  if (byModule.size === 0 || byModule.has(site.module.toLowerCase())) return undefined;
  const drivers = [...byModule].filter(([module]) => !callsBack(module));
  if (drivers.length === 0) return undefined;
  return {
    words: `freed by ${[...byModule].map(([module, { n }]) => `${module} (${n})`).join(', ')}`,
    owners: drivers.map(([module]) => module).join(' or '),
    frees: drivers.flatMap(([, { frames }]) => frames).slice(0, 3).join(', '),
  };
}

// The modules (lowercase) whose frames freed these sites' blocks, with how many and from which free sites.
function freersOf(sites: readonly PairedSite[]): Map<string, { n: number; frames: string[] }> {
  const byModule = new Map<string, { n: number; frames: string[] }>();
  for (const s of sites) {
    for (const [frame, n] of Object.entries(s.freedBy ?? {})) {
      const module = frameParts(frame).module.toLowerCase();
      const entry = byModule.get(module) ?? { n: 0, frames: [] };
      entry.n += n;
      entry.frames.push(frame);
      byModule.set(module, entry);
    }
  }
  return byModule;
}

// Three significant figures.
function fmt(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  if (value === 0) return '0';
  const digits = Math.max(0, 2 - Math.floor(Math.log10(Math.abs(value))));
  return String(Math.round(value * 10 ** digits) / 10 ** digits);
}

// 0.734 → `73%`.
function pct(share: number): string {
  return `${Math.round(share * 100)}%`;
}

/** rank-tags' `suspect` as it reaches the verdict. */
export interface SuspectLike {
  tag: string;
  pool: 'paged' | 'nonpaged';
  growthBytesPerMinute: number | null;
  growthAllocsPerMinute?: number;
  measure?: 'count' | 'bytes';
}

/** A suspect as the verdict's evidence (null when there is none). */
export function growthFromSuspect(s: SuspectLike | null | undefined, measure?: 'count' | 'bytes'): TagGrowthEvidence | null {
  if (!s) return null;
  const m = s.measure ?? measure;
  return { tag: s.tag, pool: s.pool, bytesPerMinute: s.growthBytesPerMinute, ...(s.growthAllocsPerMinute !== undefined && { allocsPerMinute: s.growthAllocsPerMinute }), ...(m && { measure: m }) };
}

/** A collected site as pairing saw it (collect-stacks' `sites[]`, analyze's sites). */
export interface CollectedSiteLike extends SiteIdentity {
  kind: 'alloc' | 'free';
  allocs: number;
  leakRate?: SiteLeakRate;
  /** A wrapper's site: its calling paths by the driver frame to blame. */
  paths?: Record<string, { culprit: SiteIdentity; allocs: number; leakRate?: SiteLeakRate }>;
  /** Any other site: its calling paths inside its module, by caller frame. */
  callerPaths?: Record<string, { culprit: SiteIdentity; allocs: number; leakRate?: SiteLeakRate }>;
  /** Its allocations by the frame where their caller chains part, with who freed their blocks. */
  requesters?: Record<string, { culprit: SiteIdentity; allocs: number; leakRate?: SiteLeakRate; freedBy?: Record<string, number> }>;
  /** Frees of its blocks by free site. */
  freedBy?: Record<string, number>;
}

/** Allocation sites as pairing evidence: a wrapper's calling paths stand for it (the driver to blame, the wrapper as `site`). */
export function pairedFromSites(sites: readonly CollectedSiteLike[]): PairedSite[] {
  return sites.flatMap((s): PairedSite[] => {
    if (s.kind !== 'alloc') return [];
    const paths = Object.values(s.paths ?? {});
    const callerPaths = Object.values(s.callerPaths ?? {}).map((p): PairedSite => ({ ...identity(p.culprit), allocs: p.allocs, ...(p.leakRate && { leakRate: p.leakRate }) }));
    const requesters = Object.values(s.requesters ?? {}).map((p): PairedSite => ({ ...identity(p.culprit), allocs: p.allocs, ...(p.leakRate && { leakRate: p.leakRate }), ...(p.freedBy && { freedBy: p.freedBy }) }));
    if (paths.length === 0) return [{ ...identity(s), allocs: s.allocs, ...(s.leakRate && { leakRate: s.leakRate }), ...(s.callerModules && { callerModules: s.callerModules }), ...(callerPaths.length > 0 && { callerPaths }), ...(requesters.length > 0 && { requesters }), ...(s.freedBy && { freedBy: s.freedBy }) }];
    return paths.map((p) => ({ ...identity(p.culprit), allocs: p.allocs, ...(p.leakRate && { leakRate: p.leakRate }), site: s.frame }));
  });
}

/** The identity fields of a frame. */
export function identity(f: SiteIdentity): SiteIdentity {
  return { frame: f.frame, module: f.module, ...(f.function !== undefined && { function: f.function }), offset: f.offset };
}

/** The best share of the growth any site explains (for a playbook's `when:`), 0 when none is known. */
export function bestExplained(paired: readonly PairedSite[], growth: TagGrowthEvidence | null): { explained: number; explainedBy: string | null } {
  if (!growth) return { explained: 0, explainedBy: null };
  const best = paired.map((s) => pairingCandidate(s, growth)).filter((c) => c.explains).sort((a, b) => (b.explained ?? 0) - (a.explained ?? 0))[0];
  return best ? { explained: best.explained ?? 0, explainedBy: best.frame } : { explained: 0, explainedBy: null };
}
