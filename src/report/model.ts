/**
 * The hunt's result as `report.json` holds it (schemas/report.schema.json describes the same
 * shape for users who script against it). Built by src/report/hunt.ts; rendered by the
 * Markdown, HTML and JUnit renderers.
 */
import type { Facts, StepStatus } from '../core/types.js';

export type PoolName = 'paged' | 'nonpaged';

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

/** One tag in the ranking, largest or fastest-growing first. */
export interface RankedTag {
  tag: string;
  pool: PoolName;
  bytes: number;
  allocs: number;
  frees?: number;
  /** Bytes per minute over the samples; absent with a single sample. */
  growthBytesPerMinute?: number;
  /** Allocations minus frees gained over the samples. */
  growthOutstanding?: number;
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
}

/** The call site the hunt blames. */
export interface Culprit {
  module: string;
  function?: string;
  offset: number;
  frame: string;
  /** The framework's or wrapper's call site the driver allocated through (see SiteReport.via). */
  via?: string;
  tag: string;
  pool: PoolName;
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
  /** Debugger commands and their timings, from the transcript (optional in report.json). */
  commands?: { command: string; durationMs: number; complete: boolean }[];
}
