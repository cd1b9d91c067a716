/**
 * The hunt's result as `report.json` holds it (schemas/report.schema.json describes the same
 * shape for users who script against it). Built by src/report/hunt.ts; rendered by the
 * Markdown, HTML and JUnit renderers.
 */
import type { Facts, StepStatus } from '../core/types.js';
import type { PoolName, RankEntry } from '../evidence/ranking.js';

export type { PoolName } from '../evidence/ranking.js';

/** One step as it ran: which provider the plan chose on this version, and how it went. */
export interface ReportStep {
  id: string;
  uses: string;
  /** `plugin/provider-id`. */
  provider: string;
  status: StepStatus;
  durationMs: number;
  /** Why the plan chose this provider on this version (from the selection trace), or why the step was skipped. */
  reason?: string;
  error?: { code: string; message: string };
}

/** One tag in the ranking, largest or fastest-growing first: the ranking's entry and its owner. */
export interface RankedTag extends Pick<RankEntry, 'tag' | 'pool' | 'bytes' | 'allocs' | 'frees' | 'growthBytesPerMinute' | 'growthOutstanding'> {
  owner?: { binary?: string; description: string };
}

/** One `!poolused` snapshot, for charts of pool usage over time. */
export interface RankSample {
  /** Milliseconds since the first sample (target or wall time, as the step measured it). */
  atMs: number;
  tags: { tag: string; pool: PoolName; bytes: number; allocs: number; frees?: number }[];
}

/** The tag the ranking points at. */
export interface Suspect {
  tag: string;
  pool: PoolName;
  bytes: number;
  growthBytesPerMinute: number | null;
  /** Outstanding allocations per minute (least squares over the samples). */
  growthAllocsPerMinute?: number;
  /** The tag's p-value in the growth test (before the correction over all tags). */
  p?: number;
  /** Which measure showed the growth. */
  measure?: 'count' | 'bytes';
}

/** A rate per minute of target time with its 95% interval. */
export interface RateRange {
  estimate: number;
  low: number;
  high: number;
}

/** Outstanding allocations attributed to one call site. */
export interface SiteReport {
  /** `abcflt!AbcAllocateContext+0x2a`: the driver's frame (the culprit's, when the allocator was called through a wrapper). */
  frame: string;
  /**
   * The framework's or wrapper's call site this driver frame allocated through
   * (`Wdf01000!MxMemory::MxAllocatePool2+0x10`), when it is not `frame` itself; both are shown.
   */
  via?: string;
  module: string;
  function?: string;
  offset: number;
  tag: string;
  allocs: number;
  frees: number;
  outstanding: number;
  outstandingBytes: number;
  /** How the numbers were obtained: paired alloc/free breaks, retagged counting, or plain counts. */
  method: 'pairing' | 'retag' | 'counts';
  /** Bytes per minute that stay outstanding, when a duration is known. */
  growthBytesPerMinute?: number;
  /** The tag the site was given while retagged. */
  retag?: string;
  /** Frames under the site (callers), innermost first, from one representative stack. */
  callers?: string[];
  /** retag: outstanding allocations per minute of the new tag (least squares over its points). */
  growthAllocsPerMinute?: number;
  /** pairing: allocations still alive past the site's normal lifetime (leaked), and younger (in flight, not judged). */
  leaked?: number;
  inFlight?: number;
  /** pairing: the normal lifetime bound the site's own frees show (target ms). */
  normalLifetimeMs?: number;
  /** pairing: lifetime-corrected leak rate, allocations and bytes per minute, with 95% intervals. */
  leakAllocsPerMinute?: RateRange;
  leakBytesPerMinute?: RateRange;
  /** Share of the tag's growth this site's leak rate explains. */
  explained?: number;
  /** retag: frees whose tag did not match the block's, counted while retagged (when the target can tell). */
  mismatchedFrees?: number;
}

/** One retag round in the report: each site's new tag counted over time, and the original tag. */
export interface RetagRoundReport {
  round: number;
  /** Allocation sites seen on the original tag after the earlier rounds' sites were retagged away. */
  unmasked?: string[];
  sites: {
    /** The site's frame, or the calling driver's when the site is a wrapper's called from one driver's path. */
    frame: string;
    /** The wrapper's frame, when `frame` is its calling driver's. */
    via?: string;
    retag: string;
    patched: boolean;
    points: number;
    allocsPerMinute?: number;
    bytesPerMinute?: number;
    p?: number;
    significant?: boolean;
    growing?: boolean;
    why?: string;
    outstanding: number;
    outstandingBytes: number;
    mismatchedFrees?: number;
  }[];
  original?: { points: number; allocsPerMinute?: number; bytesPerMinute?: number; p?: number; significant?: boolean; growing?: boolean; why?: string };
  /** The original tag and the new tags together: the leak still there while watched. */
  family?: { points: number; allocsPerMinute?: number; bytesPerMinute?: number; p?: number; significant?: boolean; growing?: boolean; why?: string };
}

/** How the verdict was reached: the numbers behind it, one source for every output. */
export interface HuntEvidence {
  /** Target time the hunt used to reach its verdict (ranking + collection + retag). */
  targetTimeMs: number;
  targetTime: { rankMs?: number; collectMs?: number; retagMs?: number };
  /** The growth test of the ranking. */
  growthTest?: { method: string; alpha: number; tested: number; samples: number; decisive: boolean };
  /** The share of the tag's growth a culprit must explain. */
  explainedShare: number;
  /** The share the culprit (or the best site) explains. */
  explained?: number;
  method?: 'pairing' | 'retag';
  /** Every site's claim to explain the growth. */
  candidates: { frame: string; method: 'pairing' | 'retag'; measure: 'count' | 'bytes'; rate?: RateRange; explained?: number; explains: boolean; why: string }[];
  rounds: RetagRoundReport[];
  collected: { stacks: number; sites: number; retagRounds: number };
  /** What to try next (inconclusive). */
  next?: string;
  /** Why the run did not finish as planned. */
  interrupted?: string;
}

/** The call site the hunt blames. */
export interface Culprit {
  module: string;
  function?: string;
  offset: number;
  frame: string;
  /** The call site the blocks were allocated at when it is another module's: a framework's or wrapper's the driver allocated through (see SiteReport.via), or one whose blocks were handed to the driver that asked for them. */
  via?: string;
  /**
   * The calling path inside the culprit's module whose evidence explains the leak
   * (`mdkfs!MdkCreateFcb+0x3c` calling the helper `mdkfs!MdkAllocatePool`): shown as `path → frame`.
   */
  path?: string;
  tag: string;
  pool: PoolName;
  /** The evidence that named it. */
  method?: 'pairing' | 'retag';
  /** The share of the tag's growth it explains. */
  explained?: number;
}

export type Verdict = 'leak' | 'no-leak' | 'inconclusive';

/** The whole of `report.json`. */
export interface HuntReport {
  schemaVersion: 1;
  playbook: string;
  startedAt: string;
  durationMs: number;
  target: Facts;
  steps: ReportStep[];
  ranking: RankedTag[];
  samples?: RankSample[];
  /**
   * `time` (the default): samples' atMs are measured. `order`: the source had no clock (a saved
   * kd log), so atMs is the sample's position times 60000 and growth per minute is unknown.
   */
  sampleAxis?: 'time' | 'order';
  suspect: Suspect | null;
  sites: SiteReport[];
  culprit: Culprit | null;
  verdict: Verdict;
  reason: string;
  /** How the verdict was reached (absent in reports of older versions and offline analysis without it). */
  evidence?: HuntEvidence;
  /** Debugger commands and their timings, from the transcript (optional in report.json). */
  commands?: { command: string; durationMs: number; complete: boolean }[];
}
