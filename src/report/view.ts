/**
 * What the Markdown and HTML renderers both show, worked out once from a run: the top tags
 * with owners, the culprit's call tree, the pool-usage series per tag.
 */
import { padTag } from '../kd/common.js';
import type { PoolName, RankedTag, SiteReport } from './model.js';
import type { RunData, TagOwner } from './run-dir.js';
import type { AggregatedSite, CallTreeNode } from '../evidence/pairing.js';
import { culpritSite } from './text.js';

/** A ranked tag with its owner and whether it is the suspect. */
export interface TagRow extends RankedTag {
  owner?: TagOwner;
  suspect: boolean;
}

/** The culprit's stacks as a call tree (from stacks.jsonl when it has them, else report.json's callers). */
export interface CulpritStacks {
  tree: CallTreeNode;
  /** Where the tree came from. */
  source: 'stacks.jsonl' | 'report.json';
  /** Other sites of the same tag, largest first, as trees too. */
  others: CallTreeNode[];
}

/** One tag's bytes over time, for the pool usage chart. */
export interface UsageSeries {
  tag: string;
  pool: PoolName;
  suspect: boolean;
  /** Bytes at each sample; null where the tag was not in that sample. */
  bytes: (number | null)[];
}

/** The top tags of the ranking (largest or fastest-growing first, as the ranking orders them), each with its owner. */
export function topTags(data: RunData, limit = 10): TagRow[] {
  const suspect = data.report.suspect;
  return data.report.ranking.slice(0, limit).map((ranked) => ({
    ...ranked,
    owner: data.ownerOf(ranked.tag),
    suspect: Boolean(suspect && padTag(suspect.tag) === padTag(ranked.tag) && suspect.pool === ranked.pool),
  }));
}

// A single chain of frames as a tree: the site on top, callers nested below it.
function chainTree(site: SiteReport): CallTreeNode {
  const root: CallTreeNode = { frame: site.frame, bytes: site.outstandingBytes, allocs: site.outstanding, children: [] };
  let node = root;
  for (const frame of site.callers ?? []) {
    const child = { frame, bytes: site.outstandingBytes, allocs: site.outstanding, children: [] };
    node.children.push(child);
    node = child;
  }
  return root;
}

// The aggregated sites of one tag from stacks.jsonl.
function sitesOfTag(data: RunData, tag: string): AggregatedSite[] {
  return (data.stacks?.sites ?? []).filter((site) => padTag(site.tag) === padTag(tag) || site.tag === '????');
}

/** The culprit's call tree, UMDH style; undefined when no culprit is named. */
export function culpritStacks(data: RunData): CulpritStacks | undefined {
  const culprit = data.report.culprit;
  if (!culprit) return undefined;
  const aggregated = sitesOfTag(data, culprit.tag);
  // A wrapper site's rows are its calling paths: the culprit is the path's calling frame.
  // A caller named for blocks that were its to free: the site it called (`via`) holds its stacks.
  const match = aggregated.find((site) => (site.culprit ?? site.site).text === culprit.frame) ?? aggregated.find((site) => !site.culprit && culprit.via !== undefined && site.site.text === culprit.via);
  if (match) {
    return { tree: match.tree, source: 'stacks.jsonl', others: aggregated.filter((site) => site !== match).map((site) => site.tree) };
  }
  const site = culpritSite(data.report);
  const tree = site ? chainTree(site) : { frame: culprit.frame, bytes: 0, allocs: 0, children: [] };
  const others = data.report.sites.filter((other) => other !== site && padTag(other.tag) === padTag(culprit.tag)).map(chainTree);
  return { tree, source: 'report.json', others };
}

/** The frames of the tree's heaviest path, site first: the culprit's stack for a code block. */
export function heaviestPath(tree: CallTreeNode): string[] {
  const frames = [tree.frame];
  let node = tree;
  while (node.children.length > 0) {
    node = node.children[0]!;
    frames.push(node.frame);
  }
  return frames;
}

/** Minutes since the first sample, and the bytes of the top tags at each sample (suspect always included). */
export function usageSeries(data: RunData, limit = 6): { minutes: number[]; series: UsageSeries[] } {
  const samples = data.report.samples ?? [];
  const minutes = samples.map((sample) => sample.atMs / 60_000);
  const last = samples.at(-1);
  const key = (tag: string, pool: PoolName) => `${padTag(tag)}\u0000${pool}`;
  const suspect = data.report.suspect;
  const suspectKey = suspect ? key(suspect.tag, suspect.pool) : undefined;
  const chosen = new Map<string, { tag: string; pool: PoolName }>();
  if (suspect) chosen.set(suspectKey!, { tag: padTag(suspect.tag), pool: suspect.pool });
  const ordered = [...(last?.tags ?? [])].sort((a, b) => b.bytes - a.bytes);
  for (const tag of ordered) {
    if (chosen.size >= limit) break;
    chosen.set(key(tag.tag, tag.pool), { tag: padTag(tag.tag), pool: tag.pool });
  }
  const series = [...chosen].map(([id, { tag, pool }]) => ({
    tag,
    pool,
    suspect: id === suspectKey,
    bytes: samples.map((sample) => sample.tags.find((entry) => key(entry.tag, entry.pool) === id)?.bytes ?? null),
  }));
  return { minutes, series };
}

/** Sites for the bar chart: outstanding bytes per call site, largest first. */
export function siteBars(data: RunData, limit = 12): { frame: string; tag: string; bytes: number; outstanding: number; culprit: boolean }[] {
  const culprit = data.report.culprit;
  return [...data.report.sites]
    .sort((a, b) => b.outstandingBytes - a.outstandingBytes || b.outstanding - a.outstanding)
    .slice(0, limit)
    .map((site) => ({
      frame: site.frame,
      tag: padTag(site.tag),
      bytes: site.outstandingBytes,
      outstanding: site.outstanding,
      culprit: Boolean(culprit && site === culpritSite(data.report)),
    }));
}
