/**
 * report.md: what goes into a bug or a pull request — the verdict, the top tags with their
 * owners, the call sites, and the culprit's stack in a code block.
 */
import { padTag } from '../kd/common.js';
import { escapeMarkdown, formatAllocRate, formatBytes, formatCount, formatDuration, formatRate, formatShare, markdownCodeBlock, quoteTag, siteLabel } from './format.js';
import { evidenceLines } from './hunt.js';
import { describeOwner, type RunData } from './run-dir.js';
import type { CallTreeNode } from '../evidence/pairing.js';
import { formatSummary } from './text.js';
import { culpritStacks, heaviestPath, topTags } from './view.js';

// One table row with every cell escaped.
function row(cells: readonly string[]): string {
  return `| ${cells.map(escapeMarkdown).join(' | ')} |`;
}

/** UMDH-style lines of a call tree: `+ bytes (allocs) frame`, callers indented below. */
export function formatCallTree(tree: CallTreeNode, depth = 0, lines: string[] = [], maxDepth = 64): string[] {
  lines.push(`${'  '.repeat(depth)}+ ${formatCount(tree.bytes)} (${formatCount(tree.allocs)}) ${tree.frame}`);
  if (depth < maxDepth) for (const child of tree.children) formatCallTree(child, depth + 1, lines, maxDepth);
  return lines;
}

/** Render report.md from a loaded run. */
export function renderMarkdown(data: RunData): string {
  const { report } = data;
  const os = report.target?.os;
  const out: string[] = [];
  out.push(`# leakhunt: ${report.verdict} — ${escapeMarkdown(report.playbook)}`, '');
  out.push(markdownCodeBlock(formatSummary(report, { ownerOf: data.ownerOf }), 'text'), '');
  if (os) {
    out.push(
      `Target: Windows ${escapeMarkdown(`${os.alias} ${os.version}`)} ${escapeMarkdown(os.arch)}${os.sp ? ` SP${os.sp}` : ''}, pool allocator ${escapeMarkdown(report.target.pool?.allocator ?? 'unknown')}, via ${escapeMarkdown(report.target.target?.kind ?? report.target.debugger?.transport ?? 'unknown')}. ` +
        `Run started ${escapeMarkdown(report.startedAt)}, took ${formatDuration(report.durationMs)}.`,
      '',
    );
  }

  out.push('## Top tags', '');
  const tags = topTags(data);
  if (tags.length === 0) out.push('No `!poolused` ranking was recorded.', '');
  else {
    out.push(row(['Tag', 'Pool', 'Bytes', 'Allocs', 'Growth', 'Owner', 'Description']), '| --- | --- | ---: | ---: | ---: | --- | --- |');
    for (const tag of tags) {
      const name = `${quoteTag(padTag(tag.tag))}${tag.suspect ? ' (suspect)' : ''}`;
      out.push(
        row([name, tag.pool, formatBytes(tag.bytes), formatCount(tag.allocs), formatRate(tag.growthBytesPerMinute), tag.owner?.binary ?? (tag.owner ? '—' : 'unknown'), tag.owner?.description ?? '']),
      );
    }
    out.push('');
  }

  out.push('## Call sites', '');
  if (report.sites.length === 0) out.push('No call sites were attributed.', '');
  else {
    // Pairing (stacks seen at PoolHitTag breaks) and retag (the site's own tag counted over time)
    // measure different things: each has its own columns, and a row fills only its method's.
    out.push(
      row(['Site', 'Tag', 'Method', 'Allocs seen', 'Freed', 'Leaked / in flight', 'Leak rate (pairing)', 'New tag', 'Outstanding (retag)', 'Growth (retag)', 'Explains']),
      '| --- | --- | --- | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: |',
    );
    for (const site of report.sites) {
      const retag = site.method === 'retag';
      out.push(
        row([
          siteLabel(site),
          quoteTag(padTag(site.tag)),
          site.method,
          retag ? '' : formatCount(site.allocs),
          retag ? '' : formatCount(site.frees),
          retag || site.leaked === undefined ? '' : `${formatCount(site.leaked)} / ${formatCount(site.inFlight ?? 0)}`,
          retag ? '' : formatAllocRate(site.leakAllocsPerMinute),
          retag ? quoteTag(site.retag ?? '?') : '',
          retag ? `${formatCount(site.outstanding)} (${formatBytes(site.outstandingBytes)})` : '',
          retag ? `${site.growthAllocsPerMinute ?? 'n/a'}/min, ${formatRate(site.growthBytesPerMinute)}` : '',
          formatShare(site.explained),
        ]),
      );
    }
    out.push('');
  }

  const how = evidenceLines(report);
  if (how.length > 0) {
    out.push('## How the verdict was reached', '');
    for (const line of how) out.push(`- ${escapeMarkdown(line)}`);
    const candidates = report.evidence?.candidates ?? [];
    if (candidates.length > 0) {
      out.push('', row(['Site', 'Method', 'Explains', 'Why']), '| --- | --- | ---: | --- |');
      for (const c of candidates) out.push(row([c.frame, c.method, formatShare(c.explained), c.why]));
    }
    out.push('');
  }

  const stacks = culpritStacks(data);
  if (stacks && report.culprit) {
    out.push(`## Culprit's stack`, '');
    out.push(`Tag ${escapeMarkdown(quoteTag(padTag(report.culprit.tag)))} (${describeOwner(data.ownerOf(report.culprit.tag)).replace(/[|`*_<>]/g, '')}), heaviest outstanding path, call site first:`, '');
    out.push(markdownCodeBlock(heaviestPath(stacks.tree).join('\n')), '');
    if (stacks.tree.children.length > 1 || stacks.others.length > 0) {
      out.push(`All outstanding stacks of the tag, aggregated (\`+ bytes (allocs) frame\`, from ${stacks.source}):`, '');
      const lines = formatCallTree(stacks.tree);
      for (const other of stacks.others) formatCallTree(other, 0, lines);
      out.push(markdownCodeBlock(lines.join('\n')), '');
    }
  }

  if (report.steps.length > 0) {
    out.push('## Steps', '', '| step | provider | status | time | why |', '| --- | --- | --- | ---: | --- |');
    for (const step of report.steps) {
      out.push(`| \`${step.id.replace(/`/g, "'")}\` | \`${step.provider.replace(/`/g, "'")}\` | ${escapeMarkdown(step.status)} | ${formatDuration(step.durationMs)} | ${escapeMarkdown(step.reason ?? '')} |`);
    }
    out.push('');
  }

  const failed = report.steps.filter((step) => step.status === 'failed');
  if (failed.length > 0) {
    out.push('## Failed steps', '');
    for (const step of failed) out.push(`- \`${step.id.replace(/`/g, "'")}\` (${escapeMarkdown(step.uses)}): ${escapeMarkdown(step.error ? `${step.error.code}: ${step.error.message}` : 'failed')}`);
    out.push('');
  }
  out.push(`<sub>Generated by leakhunt from report.json${data.stacks ? ` and ${formatCount(data.stacks.records)} stacks` : ''}; report.html has the charts, plan and debugger timings.</sub>`, '');
  return out.join('\n');
}
