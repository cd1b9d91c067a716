/**
 * The verdict: turn the hunt's step outputs (ranking, stacks by call site with their
 * lifetime-corrected leak rates, retag rounds counted over time) into report.json — which tag
 * grows, which call site keeps the allocations, and whether that is a leak — plus the short human
 * summary `leakhunt run` prints at the end. The decision itself is src/evidence/verdict.ts
 * (pure, shared with offline analysis); this module gathers its evidence and shapes the report.
 *
 * @see ../../schemas/report.schema.json
 */
import type { Facts, StepStatus } from '../core/types.js';
import { formatP, trendWords, type GrowthPoint, type SeriesGrowth } from '../evidence/growth.js';
import type { SiteLeakRate } from '../evidence/lifetimes.js';
import { decideVerdict, EXPLAINED_SHARE, growthFromSuspect, identity, pairedFromSites, retaggedEvidence, type RetagRoundEvidence, type SiteIdentity } from '../evidence/verdict.js';
import { formatDuration, formatShare, siteLabel, siteNumbers } from './format.js';
import type { Culprit, HuntEvidence, HuntReport, PoolName, RankedTag, RankSample, ReportStep, RetagRoundReport, SiteReport, Suspect } from './model.js';

/** The outputs of pool.rank-tags the verdict reads. */
export interface RankOutputs {
  ranking?: (RankedTag & { measure?: 'count' | 'bytes' })[];
  suspect?: (Suspect & { measure?: 'count' | 'bytes' }) | null;
  basis?: 'size' | 'growth';
  reason?: string;
  samples?: RankSample[];
  test?: { method: string; alpha: number; tested: number };
  decisive?: boolean;
  undecided?: string;
  targetTimeMs?: number;
}

/** One calling path of a wrapper site (collect-stacks' `sites[].paths`). */
export interface CollectedPath {
  culprit: { frame: string; module: string; function?: string; offset: number };
  allocs: number;
  frees: number;
  outstanding: number;
  outstandingBytes: number;
  leakRate?: SiteLeakRate;
}

/** One site of pool.collect-stacks' `sites` output. */
export interface CollectedSite {
  frame: string;
  module: string;
  function?: string;
  offset: number;
  kind: 'alloc' | 'free';
  allocs: number;
  frees: number;
  outstanding: number;
  outstandingBytes: number;
  addressed?: number;
  callers?: string[];
  leakRate?: SiteLeakRate;
  paths?: Record<string, CollectedPath>;
  callerModules?: string[];
  /** Frees of its blocks by free site. */
  freedBy?: Record<string, number>;
}

/** The outputs of pool.collect-stacks the verdict reads. */
export interface CollectOutputs {
  sites?: CollectedSite[];
  method?: 'pairing' | 'counts';
  stacks?: number;
  targetTimeMs?: number;
}

/** One site of a retag round. */
export interface RetaggedSite {
  frame: string;
  module: string;
  function?: string;
  offset: number;
  retag: string;
  patched: string[];
  outstanding: number;
  outstandingBytes: number;
  allocs?: number;
  frees?: number;
  growthBytesPerMinute: number;
  /** The new tag counted over time, and its growth test. */
  points?: GrowthPoint[];
  growth?: SeriesGrowth;
  mismatchedFrees?: number;
  /** The site's calling path (the driver to blame) when it is a wrapper's. */
  culprit?: { frame: string; module: string; function?: string; offset: number };
  /** Modules whose frames called the site (its own excluded). */
  callerModules?: string[];
}

/** One round of pool.retag-sites. */
export interface RetagRoundOutputs {
  round: number;
  sites: RetaggedSite[];
  original?: { points: GrowthPoint[]; growth: SeriesGrowth };
  /** The original tag and every new tag together, at each point after the first. */
  family?: { points: GrowthPoint[]; growth: SeriesGrowth };
  /** Allocation sites seen again on the original tag before this round (unmasking). */
  unmasked?: string[];
  stacks?: number;
}

/** The outputs of pool.retag-sites the verdict reads. */
export interface RetagOutputs {
  sites?: RetaggedSite[];
  rounds?: RetagRoundOutputs[];
  durationMs?: number;
  targetTimeMs?: number;
  /** Stacks collected again on the original tag while unmasking, by site (as collect-stacks outputs them). */
  collected?: CollectedSite[];
  /** Sites or free sites that could not be patched, and why. */
  warnings?: string[];
}

/** Everything the verdict is built from. */
export interface HuntInputs {
  playbook: string;
  startedAt: string;
  durationMs: number;
  facts: Facts;
  steps: ReportStep[];
  rank?: RankOutputs;
  collect?: CollectOutputs;
  retag?: RetagOutputs;
  /** The tag hunted when no ranking named one (collect-stacks for a known tag). */
  tag?: string;
  pool?: PoolName;
  /** Stack lines on disk (stacks.jsonl), counted when a step that collected them did not finish. */
  stacksOnDisk?: number;
  /** The run was stopped (Ctrl+C, a deadline) before its steps were done. */
  cancelled?: string;
  /** Evidence the live hunt has that this source lacks (offline analysis of a log), in words. */
  missing?: string;
}

// The report row of a site pairing saw (its calling paths as rows of their own).
function pairingRows(sites: readonly CollectedSite[], tag: string, method: 'pairing' | 'counts'): SiteReport[] {
  const rows: SiteReport[] = [];
  const row = (id: SiteIdentity, n: { allocs: number; frees: number; outstanding: number; outstandingBytes: number; leakRate?: SiteLeakRate }, extra: Partial<SiteReport>): SiteReport => ({
    ...id,
    tag,
    allocs: n.allocs,
    frees: n.frees,
    outstanding: n.outstanding,
    outstandingBytes: n.outstandingBytes,
    method,
    ...(n.leakRate && leakFields(n.leakRate)),
    ...extra,
  });
  for (const s of sites) {
    if (s.kind !== 'alloc') continue;
    const paths = Object.values(s.paths ?? {});
    if (paths.length === 0) rows.push(row(identity(s), s, { ...(s.callers && s.callers.length > 0 && { callers: s.callers }) }));
    else for (const p of paths) rows.push(row(identity(p.culprit), p, { via: s.frame }));
  }
  return rows;
}

// The lifetime-corrected numbers of a row.
function leakFields(lr: SiteLeakRate): Partial<SiteReport> {
  return {
    leaked: lr.leaked,
    inFlight: lr.inFlight,
    ...(lr.normalLifetimeMs !== undefined && { normalLifetimeMs: Math.round(lr.normalLifetimeMs) }),
    ...(lr.leakAllocsPerMinute && { leakAllocsPerMinute: roundRange(lr.leakAllocsPerMinute) }),
    ...(lr.leakBytesPerMinute && { leakBytesPerMinute: roundRange(lr.leakBytesPerMinute) }),
  };
}

// Three significant figures of a range.
function roundRange(r: { estimate: number; low: number; high: number }): { estimate: number; low: number; high: number } {
  return { estimate: sig(r.estimate), low: sig(r.low), high: sig(r.high) };
}

// Three significant figures.
function sig(value: number): number {
  if (!Number.isFinite(value) || value === 0) return value;
  const digits = Math.max(0, 2 - Math.floor(Math.log10(Math.abs(value))));
  return Math.round(value * 10 ** digits) / 10 ** digits;
}

// The report's view of a retag round.
function roundReport(round: RetagRoundOutputs): RetagRoundReport {
  const seriesOf = (g: SeriesGrowth | undefined, points: readonly GrowthPoint[] | undefined) => ({
    points: points?.length ?? g?.points ?? 0,
    ...(g && { allocsPerMinute: sig(g.count.slope), bytesPerMinute: sig(g.bytes.slope), p: g.p, significant: g.significant, growing: g.growing, why: g.why }),
  });
  return {
    round: round.round,
    ...(round.unmasked && round.unmasked.length > 0 && { unmasked: round.unmasked }),
    sites: round.sites.map((s) => ({
      frame: s.culprit?.frame ?? s.frame,
      ...(s.culprit && { via: s.frame }),
      retag: s.retag,
      patched: s.patched.length > 0,
      ...seriesOf(s.growth, s.points),
      outstanding: s.outstanding,
      outstandingBytes: s.outstandingBytes,
      ...(s.mismatchedFrees !== undefined && { mismatchedFrees: s.mismatchedFrees }),
    })),
    ...(round.original && { original: seriesOf(round.original.growth, round.original.points) }),
    ...(round.family && { family: seriesOf(round.family.growth, round.family.points) }),
  };
}

/** Build report.json's content from the hunt's outputs and decide the verdict. */
export function buildHuntReport(input: HuntInputs): HuntReport {
  const suspect = input.rank?.suspect ?? null;
  const tag = suspect?.tag ?? input.tag;
  const pool: PoolName = suspect?.pool ?? input.pool ?? 'paged';
  const failed = input.steps.filter((s) => s.status === 'failed');
  const interrupted = input.cancelled ?? (failed.length > 0 ? `step "${failed[0]!.id}" failed: ${failed[0]!.error ? `${failed[0]!.error.code} ${failed[0]!.error.message}` : 'see events.jsonl'}` : undefined);
  const collectedSites = [...(input.collect?.sites ?? []), ...(input.retag?.collected ?? [])];
  const rounds = input.retag?.rounds ?? [];
  const stacks = (input.collect?.stacks ?? 0) + rounds.reduce((n, r) => n + (r.stacks ?? 0), 0);
  const suspectEntry = suspect ? input.rank?.ranking?.find((r) => r.tag === suspect.tag && r.pool === suspect.pool) : undefined;
  const growth = growthFromSuspect(suspect, suspectEntry?.measure);
  // Retag evidence: a wrapper site retagged names its calling path's driver.
  const retagEvidence: RetagRoundEvidence[] = rounds.map((r) => ({
    round: r.round,
    sites: r.sites
      .filter((s) => s.patched.length > 0)
      .map(retaggedEvidence),
    ...(r.original && { original: r.original.growth }),
    ...(r.family && { family: r.family.growth }),
    ...(r.unmasked && { unmasked: r.unmasked }),
  }));
  const decision = decideVerdict({
    ...(input.rank?.basis && { basis: input.rank.basis }),
    growth: input.rank?.basis === 'growth' ? growth : null,
    ...(input.rank?.reason && { rankReason: input.rank.reason }),
    ...(input.rank?.undecided && { rankUndecided: input.rank.undecided }),
    ...(tag && { tag }),
    paired: pairedFromSites(collectedSites),
    stacks: Math.max(stacks, input.stacksOnDisk ?? 0),
    ...(input.retag && { retag: { rounds: retagEvidence, finished: true, ...(rounds.length === 0 && (input.retag.warnings ?? []).length > 0 && { unpatched: input.retag.warnings!.join('; ') }) } }),
    ...(interrupted && { interrupted }),
    ...(input.missing && { missing: input.missing }),
  });
  // A size-only suspect keeps its tag in the decision's words.
  const method: 'pairing' | 'counts' = input.collect?.method ?? 'counts';
  const rows = tag ? pairingRows(collectedSites, tag, method) : [];
  const retagRows: SiteReport[] = [];
  const latest = new Map<string, RetaggedSite>();
  // A wrapper's site retagged at each calling driver's call is one row per driver.
  for (const r of rounds) for (const s of r.sites) if (s.patched.length > 0) latest.set(s.culprit?.frame ?? s.frame, s);
  for (const s of latest.values()) {
    const id = identity(s.culprit ?? s);
    retagRows.push({
      ...id,
      tag: tag ?? '',
      allocs: s.allocs ?? 0,
      frees: s.frees ?? 0,
      outstanding: s.outstanding,
      outstandingBytes: s.outstandingBytes,
      method: 'retag',
      growthBytesPerMinute: s.growth ? sig(s.growth.bytes.slope) : s.growthBytesPerMinute,
      ...(s.growth && { growthAllocsPerMinute: sig(s.growth.count.slope) }),
      retag: s.retag,
      ...(s.culprit && { via: s.frame }),
      ...(s.mismatchedFrees !== undefined && { mismatchedFrees: s.mismatchedFrees }),
    });
  }
  for (const row of [...retagRows, ...rows]) {
    const c = decision.candidates.find((k) => k.frame === row.frame && (k.method === row.method || (row.method === 'counts' && k.method === 'pairing')));
    if (c?.explained !== undefined) row.explained = Math.round(c.explained * 1000) / 1000;
  }
  // The culprit's rows first: its own, or the site it called when the blocks were its to free.
  const isCulprit = (row: SiteReport) => row.frame === decision.culprit?.frame || row.frame === decision.culprit?.site;
  const sites = [...retagRows, ...rows].sort((a, b) => Number(isCulprit(b)) - Number(isCulprit(a)) || (b.explained ?? -1) - (a.explained ?? -1) || b.outstandingBytes - a.outstandingBytes);
  const culpritRow = decision.culprit ? sites.find((s) => s.frame === decision.culprit!.frame) : undefined;
  const culprit: Culprit | null = decision.culprit
    ? {
        ...identity(decision.culprit),
        tag: tag!,
        pool,
        ...(culpritRow?.via ? { via: culpritRow.via } : decision.culprit.site && { via: decision.culprit.site }),
        ...(decision.path && { path: decision.path.frame }),
        ...(decision.method && { method: decision.method }),
        ...(decision.explained !== undefined && { explained: Math.round(decision.explained * 1000) / 1000 }),
      }
    : null;
  const targetTime = {
    ...(input.rank?.targetTimeMs !== undefined && { rankMs: input.rank.targetTimeMs }),
    ...(input.collect?.targetTimeMs !== undefined && { collectMs: input.collect.targetTimeMs }),
    ...(input.retag?.targetTimeMs !== undefined && { retagMs: input.retag.targetTimeMs }),
  };
  const evidence: HuntEvidence = {
    targetTimeMs: (targetTime.rankMs ?? 0) + (targetTime.collectMs ?? 0) + (targetTime.retagMs ?? 0),
    targetTime,
    ...(input.rank?.test && { growthTest: { ...input.rank.test, samples: input.rank.samples?.length ?? 0, decisive: input.rank.decisive ?? true } }),
    explainedShare: EXPLAINED_SHARE,
    ...(decision.explained !== undefined && { explained: Math.round(decision.explained * 1000) / 1000 }),
    ...(decision.method && { method: decision.method }),
    candidates: decision.candidates.map((c) => ({ frame: c.frame, method: c.method, measure: c.measure, ...(c.rate && { rate: roundRange(c.rate) }), ...(c.explained !== undefined && { explained: Math.round(c.explained * 1000) / 1000 }), explains: c.explains, why: c.why })),
    rounds: rounds.map(roundReport),
    collected: { stacks: Math.max(stacks, input.stacksOnDisk ?? 0), sites: rows.length, retagRounds: rounds.length },
    ...(decision.next && { next: decision.next }),
    ...(interrupted && { interrupted }),
  };
  return {
    schemaVersion: 1 as const,
    playbook: input.playbook,
    startedAt: input.startedAt,
    durationMs: input.durationMs,
    target: input.facts,
    steps: input.steps,
    ranking: input.rank?.ranking ?? [],
    ...(input.rank?.samples && { samples: input.rank.samples }),
    suspect,
    sites,
    culprit,
    verdict: decision.verdict,
    reason: decision.reason,
    evidence,
  };
}

/** Report steps from the run's events.jsonl lines (stepStart names the provider, stepEnd the result). */
export function stepsFromEvents(events: readonly Record<string, unknown>[]): { steps: ReportStep[]; playbook?: string; startedAt?: string } {
  const providers = new Map<string, string>();
  const selections = new Map<string, string>();
  const steps: ReportStep[] = [];
  let playbook: string | undefined;
  let startedAt: string | undefined;
  for (const event of events) {
    if (event.event === 'runStart') {
      playbook = typeof event.playbook === 'string' ? event.playbook : undefined;
      startedAt = typeof event.time === 'string' ? event.time : undefined;
      // The plan's provider of every step, for steps that end without starting (skipped).
      for (const planned of Array.isArray(event.steps) ? (event.steps as Record<string, unknown>[]) : []) {
        if (typeof planned.id === 'string' && typeof planned.plugin === 'string' && typeof planned.provider === 'string') providers.set(planned.id, `${planned.plugin}/${planned.provider}`);
      }
    } else if (event.event === 'stepStart' && typeof event.step === 'string') {
      providers.set(event.step, `${String(event.plugin ?? '?')}/${String(event.provider ?? '?')}`);
      if (typeof event.selected === 'string') selections.set(event.step, event.selected);
    } else if (event.event === 'stepEnd' && typeof event.step === 'string') {
      const error = event.error as { code?: string; message?: string } | undefined;
      steps.push({
        id: event.step,
        uses: String(event.uses ?? ''),
        provider: providers.get(event.step) ?? 'none',
        status: event.status as StepStatus,
        durationMs: typeof event.durationMs === 'number' ? event.durationMs : 0,
        ...(selections.has(event.step) && { reason: selections.get(event.step) }),
        ...(event.status === 'skipped' && typeof event.reason === 'string' && { reason: `skipped: ${event.reason}` }),
        ...(error && { error: { code: String(error.code ?? 'UNKNOWN'), message: String(error.message ?? '') } }),
      });
    }
  }
  return { steps, ...(playbook && { playbook }), ...(startedAt && { startedAt }) };
}

/** The few lines `leakhunt run` prints about the verdict. */
export function summarizeHunt(report: HuntReport): string {
  const lines = [`verdict: ${report.verdict} — ${report.reason}`];
  if (report.suspect) {
    const growth = report.suspect.growthBytesPerMinute === null ? '' : `, +${report.suspect.growthBytesPerMinute} bytes/min`;
    lines.push(`suspect tag: "${report.suspect.tag}" (${report.suspect.pool}, ${report.suspect.bytes} bytes${growth})`);
  }
  if (report.culprit) {
    lines.push(`leaking call site: ${siteLabel(report.culprit)} (module ${report.culprit.module}${report.culprit.function ? `, function ${report.culprit.function}` : ''})`);
  }
  for (const site of report.sites.slice(0, 5)) lines.push(`  ${siteLabel(site)}: ${siteNumbers(site)}`);
  for (const line of evidenceLines(report)) lines.push(line);
  return lines.join('\n');
}

/** How the verdict was reached, in a few lines every renderer shows the same way. */
export function evidenceLines(report: HuntReport): string[] {
  const e = report.evidence;
  if (!e) return [];
  const lines: string[] = [];
  const t = e.targetTime;
  const parts = [t.rankMs !== undefined && `ranking ${formatDuration(t.rankMs)}`, t.collectMs !== undefined && `stacks ${formatDuration(t.collectMs)}`, t.retagMs !== undefined && `retag ${formatDuration(t.retagMs)}`].filter(Boolean);
  lines.push(`target time to verdict: ${formatDuration(e.targetTimeMs)}${parts.length > 0 ? ` (${parts.join(', ')})` : ''}`);
  if (e.growthTest) {
    lines.push(`growth test: ${e.growthTest.samples} samples, ${e.growthTest.tested} tags tested, ${e.growthTest.method} at family-wise error rate ${formatP(e.growthTest.alpha)}${e.growthTest.decisive ? '' : ' (not decisive within the budget)'}`);
  }
  if (report.verdict === 'leak' && e.explained !== undefined) lines.push(`explained: the culprit's ${e.method} leak rate is ${formatShare(e.explained)} of the tag's growth (at least ${formatShare(e.explainedShare)} needed)`);
  for (const round of e.rounds) {
    const sites = round.sites.map((s) => `${s.frame} as "${s.retag}" ${trendWords(s)}${s.allocsPerMinute !== undefined ? ` (${s.allocsPerMinute}/min over ${s.points} points)` : ''}${s.mismatchedFrees !== undefined ? `, ${s.mismatchedFrees} tag-mismatched frees` : ''}`);
    lines.push(`retag round ${round.round}${round.unmasked ? ` (unmasked ${round.unmasked.length} site(s))` : ''}: ${sites.join('; ')}`);
  }
  if (e.next) lines.push(`next: ${e.next}`);
  return lines;
}
