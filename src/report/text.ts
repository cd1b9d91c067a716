/**
 * The short human summary `leakhunt run` prints when a hunt ends: verdict, suspect tag,
 * culprit frame, outstanding bytes and growth.
 */
import { padTag } from '../kd/common.js';
import { formatBytes, formatCount, formatRate, quoteTag, siteLabel, siteNumbers } from './format.js';
import { evidenceLines } from './hunt.js';
import type { HuntReport, SiteReport } from './model.js';
import { describeOwner, type TagOwner } from './run-dir.js';

/** Options of formatSummary. */
export interface SummaryOptions {
  /** Tag owners (pooltag.txt); defaults to the owners report.json's ranking carries. */
  ownerOf?: (tag: string) => TagOwner | undefined;
  /** Rendered files to point at (`runs/x/report.html`). */
  files?: readonly string[];
}

const verdictWords: Record<HuntReport['verdict'], string> = {
  leak: 'LEAK',
  'no-leak': 'no leak',
  inconclusive: 'inconclusive',
};

/** The site entry the culprit names (same frame and tag), if report.json lists it. */
export function culpritSite(report: HuntReport): SiteReport | undefined {
  const culprit = report.culprit;
  if (!culprit) return undefined;
  // A caller named for blocks that were its to free has no row of its own: its row is the site it called (`via`).
  const frames = culprit.via ? [culprit.frame, culprit.via] : [culprit.frame];
  for (const frame of frames) {
    const row = report.sites.find((site) => site.frame === frame && padTag(site.tag) === padTag(culprit.tag)) ?? report.sites.find((site) => site.frame === frame);
    if (row) return row;
  }
  return undefined;
}

/** A few plain lines that say what the hunt found, for a terminal. */
export function formatSummary(report: HuntReport, options: SummaryOptions = {}): string {
  const ownerOf =
    options.ownerOf ??
    ((tag: string) => report.ranking.find((ranked) => padTag(ranked.tag) === padTag(tag))?.owner);
  const lines = [`Verdict: ${verdictWords[report.verdict] ?? report.verdict} — ${report.reason}`];
  const suspect = report.suspect;
  if (suspect) {
    lines.push(
      `Suspect: ${quoteTag(padTag(suspect.tag))} (${suspect.pool}) ${formatBytes(suspect.bytes)}, ${formatRate(suspect.growthBytesPerMinute)} — ${describeOwner(ownerOf(suspect.tag))}`,
    );
  } else {
    lines.push('Suspect: none');
  }
  const culprit = report.culprit;
  if (culprit) {
    const site = culpritSite(report);
    const numbers = site ? `: ${siteNumbers(site)}` : '';
    lines.push(`Culprit: ${siteLabel(culprit)} (tag ${quoteTag(padTag(culprit.tag))})${numbers}`);
  } else {
    lines.push('Culprit: none named');
  }
  for (const line of evidenceLines(report)) lines.push(line.charAt(0).toUpperCase() + line.slice(1));
  const failed = report.steps.filter((step) => step.status === 'failed');
  for (const step of failed) lines.push(`Failed step: ${step.id} (${step.uses}): ${step.error ? `${step.error.code} ${step.error.message}` : 'no error recorded'}`);
  if (options.files?.length) lines.push(`Reports: ${options.files.join(', ')}`);
  return lines.join('\n');
}
