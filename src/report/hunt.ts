/**
 * The verdict: turn the hunt's step outputs (ranking, stacks by call site, retagged counts) into
 * report.json — which tag grows, which call site keeps the allocations, and whether that is a
 * leak — plus the short human summary `leakhunt run` prints at the end.
 *
 * @see ../../schemas/report.schema.json
 */
import type { Facts, StepStatus } from '../core/types.js';
import type { Culprit, HuntReport, PoolName, RankedTag, RankSample, ReportStep, SiteReport, Suspect, Verdict } from './model.js';

/** The outputs of pool.rank-tags the verdict reads. */
export interface RankOutputs {
  ranking?: RankedTag[];
  suspect?: Suspect | null;
  basis?: 'size' | 'growth';
  reason?: string;
  samples?: RankSample[];
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
}

/** The outputs of pool.collect-stacks the verdict reads. */
export interface CollectOutputs {
  sites?: CollectedSite[];
  method?: 'pairing' | 'counts';
  stacks?: number;
}

/** One site of pool.retag-sites' `sites` output. */
export interface RetaggedSite {
  frame: string;
  module: string;
  function?: string;
  offset: number;
  retag: string;
  patched: string[];
  outstanding: number;
  outstandingBytes: number;
  growthBytesPerMinute: number;
}

/** The outputs of pool.retag-sites the verdict reads. */
export interface RetagOutputs {
  sites?: RetaggedSite[];
  durationMs?: number;
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
}

// How much more the worst site must keep than the next one to be named alone.
const DOMINANCE = 2;

// A site's report entry from what collect-stacks saw.
function collectedSite(site: CollectedSite, tag: string, method: 'pairing' | 'counts'): SiteReport {
  return {
    frame: site.frame,
    module: site.module,
    ...(site.function !== undefined && { function: site.function }),
    offset: site.offset,
    tag,
    allocs: site.allocs,
    frees: site.frees,
    outstanding: site.outstanding,
    outstandingBytes: site.outstandingBytes,
    method,
    ...(site.callers && site.callers.length > 0 && { callers: site.callers }),
  };
}

// The site that keeps clearly the most (by bytes, then count), or undefined when none stands out.
function dominant<T extends { outstanding: number; outstandingBytes: number }>(sites: readonly T[], score: (s: T) => number): T | undefined {
  const ranked = [...sites].filter((s) => s.outstanding > 0 && score(s) > 0).sort((a, b) => score(b) - score(a));
  const [first, second] = ranked;
  if (!first) return undefined;
  if (!second || score(first) >= DOMINANCE * score(second)) return first;
  return undefined;
}

// The culprit entry of a site.
function culpritOf(site: SiteReport, pool: PoolName): Culprit {
  return { module: site.module, ...(site.function !== undefined && { function: site.function }), offset: site.offset, frame: site.frame, tag: site.tag, pool };
}

/** Build report.json's content from the hunt's outputs and decide the verdict. */
export function buildHuntReport(input: HuntInputs): HuntReport {
  const suspect = input.rank?.suspect ?? null;
  const tag = suspect?.tag ?? input.tag;
  const pool: PoolName = suspect?.pool ?? input.pool ?? 'paged';
  const failed = input.steps.filter((s) => s.status === 'failed');
  const failure = failed.length > 0 ? ` (step "${failed[0]!.id}" failed: ${failed[0]!.error?.message ?? 'see events.jsonl'})` : '';
  const base = {
    schemaVersion: 1 as const,
    playbook: input.playbook,
    startedAt: input.startedAt,
    durationMs: input.durationMs,
    target: input.facts,
    steps: input.steps,
    ranking: input.rank?.ranking ?? [],
    ...(input.rank?.samples && { samples: input.rank.samples }),
    suspect,
  };
  const finish = (sites: SiteReport[], culprit: Culprit | null, verdict: Verdict, reason: string): HuntReport => ({ ...base, sites, culprit, verdict, reason });

  // Growth measured and nothing grows: no leak, whatever else ran.
  if (input.rank?.basis === 'growth' && suspect === null) {
    return finish([], null, 'no-leak', input.rank.reason ?? 'no tag grew over the samples');
  }
  if (!tag) return finish([], null, 'inconclusive', `no suspect tag: the ranking did not run or named none${failure}`);

  const collected = (input.collect?.sites ?? []).filter((s) => s.kind === 'alloc');
  const method = input.collect?.method ?? 'counts';
  const grew = input.rank?.basis === 'growth' && suspect !== null;
  const growth = grew ? `tag "${tag}" grows ${suspect!.growthBytesPerMinute} bytes/min of ${pool} pool` : `tag "${tag}"`;

  // Retagged counts are the strongest evidence: each site had its own tag for a while.
  const retagged = (input.retag?.sites ?? []).filter((s) => s.patched.length > 0);
  if (retagged.length > 0) {
    const sites = retagged.map((r): SiteReport => {
      const seen = collected.find((c) => c.frame === r.frame);
      return {
        frame: r.frame,
        module: r.module,
        ...(r.function !== undefined && { function: r.function }),
        offset: r.offset,
        tag,
        allocs: seen?.allocs ?? 0,
        frees: seen?.frees ?? 0,
        outstanding: r.outstanding,
        outstandingBytes: r.outstandingBytes,
        method: 'retag',
        growthBytesPerMinute: r.growthBytesPerMinute,
        retag: r.retag,
        ...(seen?.callers && seen.callers.length > 0 && { callers: seen.callers }),
      };
    });
    sites.sort((a, b) => (b.growthBytesPerMinute ?? 0) - (a.growthBytesPerMinute ?? 0));
    const worst = dominant(sites, (s) => s.outstandingBytes || s.outstanding);
    const seconds = Math.round((input.retag?.durationMs ?? 0) / 1000);
    if (!worst) return finish(sites, null, 'inconclusive', `${growth}, but no retagged site kept clearly more than the others over ${seconds} s${failure}`);
    return finish(sites, culpritOf(worst, pool), 'leak', `${growth}; retagged as "${worst.retag}", ${worst.frame} kept ${worst.outstanding} allocations (${worst.outstandingBytes} bytes) in ${seconds} s, the others ${sites.filter((s) => s !== worst).map((s) => s.outstanding).join(', ') || 'none'}`);
  }

  const sites = collected.map((s) => collectedSite(s, tag, method));
  if (sites.length === 0) {
    return finish([], null, 'inconclusive', `${growth}, but no allocation stack was collected${failure}`);
  }
  if (!grew) {
    return finish(sites, null, 'inconclusive', `${growth} was chosen by size only; rank with several samples to show growth${failure}`);
  }
  if (sites.length === 1) {
    const only = sites[0]!;
    return finish(sites, culpritOf(only, pool), 'leak', `${growth}; every one of ${only.allocs} allocations seen came from ${only.frame}`);
  }
  if (method === 'pairing') {
    const worst = dominant(sites, (s) => s.outstandingBytes || s.outstanding);
    if (worst) {
      return finish(sites, culpritOf(worst, pool), 'leak', `${growth}; ${worst.frame} left ${worst.outstanding} of ${worst.allocs} allocations unfreed (${worst.outstandingBytes} bytes), more than the other ${sites.length - 1} site(s)`);
    }
  }
  return finish(sites, null, 'inconclusive', `${growth} from ${sites.length} call sites and the stacks alone do not tell which one leaks; retag the sites (pool.retag-sites)${failure}`);
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
    lines.push(`leaking call site: ${report.culprit.frame} (module ${report.culprit.module}${report.culprit.function ? `, function ${report.culprit.function}` : ''})`);
  }
  for (const site of report.sites.slice(0, 5)) {
    lines.push(`  ${site.frame}: ${site.outstanding} outstanding of ${site.allocs} allocs, ${site.outstandingBytes} bytes [${site.method}${site.retag ? ` as "${site.retag}"` : ''}]`);
  }
  return lines.join('\n');
}
