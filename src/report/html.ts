/**
 * report.html: one self-contained offline page — verdict first, pool usage over time (uPlot,
 * inlined from node_modules at render time), outstanding bytes per call site as bars, the
 * culprit's stacks as a collapsible UMDH-style call tree, target facts, the plan, and the
 * debugger commands with their timings. Every string from the target is escaped; data for
 * the chart travels as JSON that cannot close its script element.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { padTag } from '../kd/common.js';
import { escapeHtml, formatBytes, formatCount, formatDuration, formatRate, jsonForScript, quoteTag, siteLabel, siteNumbers } from './format.js';
import { evidenceLines } from './hunt.js';
import type { HuntReport } from './model.js';
import { describeOwner, type RunData } from './run-dir.js';
import type { CallTreeNode } from '../evidence/pairing.js';
import { culpritSite } from './text.js';
import { culpritStacks, siteBars, topTags, usageSeries } from './view.js';

/** The chart library's script and style, inlined into every report. */
export interface ChartAssets {
  script: string;
  style: string;
}

let cachedAssets: ChartAssets | undefined;

/** Read uPlot's minified script and CSS from node_modules (once per process). */
export function readChartAssets(): ChartAssets {
  if (!cachedAssets) {
    const require = createRequire(import.meta.url);
    cachedAssets = {
      script: readFileSync(require.resolve('uplot/dist/uPlot.iife.min.js'), 'utf8'),
      style: readFileSync(require.resolve('uplot/dist/uPlot.min.css'), 'utf8'),
    };
  }
  return cachedAssets;
}

// Inline text must not end its element early: `</script` and `</style` are broken up.
function inlineSafe(text: string, element: 'script' | 'style'): string {
  return text.replace(new RegExp(`</(${element})`, 'gi'), '<\\/$1');
}

const h = escapeHtml;

const verdictTitles: Record<HuntReport['verdict'], string> = {
  leak: 'Leak found',
  'no-leak': 'No leak',
  inconclusive: 'Inconclusive',
};

const maxChildren = 25;
const maxDepth = 48;

// One node of the call tree as <details>, the heaviest path open so the culprit's frames show.
function treeHtml(node: CallTreeNode, open: boolean, depth: number): string {
  const label = `<span class="num">+ ${h(formatCount(node.bytes))}</span> <span class="num">(${h(formatCount(node.allocs))})</span> <code>${h(node.frame)}</code>`;
  if (node.children.length === 0 || depth >= maxDepth) return `<div class="leaf">${label}</div>`;
  const shown = node.children.slice(0, maxChildren);
  const more = node.children.length - shown.length;
  const children = shown.map((child, index) => treeHtml(child, open && index === 0, depth + 1)).join('');
  return `<details${open ? ' open' : ''}><summary>${label}</summary><div class="children">${children}${more > 0 ? `<div class="leaf more">… ${more} more callers</div>` : ''}</div></details>`;
}

// A <dl> of label/value pairs, skipping empty values.
function definitionList(pairs: [string, string | number | boolean | undefined][]): string {
  const items = pairs.filter(([, value]) => value !== undefined && value !== '').map(([label, value]) => `<dt>${h(label)}</dt><dd>${h(String(value))}</dd>`);
  return `<dl class="facts">${items.join('')}</dl>`;
}

// The verdict block: what was found, in one glance.
function verdictSection(data: RunData): string {
  const { report } = data;
  const suspect = report.suspect;
  const culprit = report.culprit;
  const site = culpritSite(report);
  const pairs: [string, string | undefined][] = [
    ['Suspect tag', suspect ? `${quoteTag(padTag(suspect.tag))} (${suspect.pool}) — ${describeOwner(data.ownerOf(suspect.tag))}` : 'none'],
    ['Tag usage', suspect ? `${formatBytes(suspect.bytes)}, ${formatRate(suspect.growthBytesPerMinute)}` : undefined],
    ['Culprit', culprit ? siteLabel(culprit) : 'none named'],
    ['Evidence', site ? siteNumbers(site) : undefined],
    ...evidenceLines(report).map((line): [string, string] => {
      const at = line.indexOf(': ');
      return [line.slice(0, at).replace(/^./, (c) => c.toUpperCase()), line.slice(at + 2)];
    }),
  ];
  return `<header class="verdict verdict-${h(report.verdict)}" id="verdict">
<p class="kicker">leakhunt · ${h(report.playbook)}</p>
<h1>${h(verdictTitles[report.verdict] ?? report.verdict)}</h1>
<p class="reason">${h(report.reason)}</p>
${definitionList(pairs)}
</header>`;
}

// The pool usage chart's container, with the samples as a table for print and no-script readers.
function usageSection(data: RunData): string {
  const { minutes, series } = usageSeries(data);
  if (minutes.length === 0) return `<section id="usage"><h2>Pool usage over time</h2><p class="empty">No <code>!poolused</code> samples were recorded.</p></section>`;
  const header = `<tr><th>${data.report.sampleAxis === 'order' ? 'sample' : 'min'}</th>${series.map((s) => `<th>${h(quoteTag(s.tag))} ${h(s.pool)}${s.suspect ? ' ★' : ''}</th>`).join('')}</tr>`;
  const rows = minutes
    .map((minute, index) => `<tr><td class="num">${data.report.sampleAxis === 'order' ? minute + 1 : minute.toFixed(2)}</td>${series.map((s) => `<td class="num">${s.bytes[index] === null ? '' : h(formatBytes(s.bytes[index]!))}</td>`).join('')}</tr>`)
    .join('');
  const suspect = series.find((s) => s.suspect);
  return `<section id="usage"><h2>Pool usage over time</h2>
<p class="caption">${h(formatCount(minutes.length))} <code>!poolused</code> samples; top tags by bytes${suspect ? `, the suspect ${h(quoteTag(suspect.tag))} in red` : ''}.</p>
<div id="usage-chart" class="chart" role="img" aria-label="Pool bytes per tag over time"></div>
<details class="samples"><summary>Samples as a table</summary><div class="scroll"><table>${header}${rows}</table></div></details>
</section>`;
}

// Outstanding bytes per call site as horizontal bars (SVG, so they print and need no script).
function sitesSection(data: RunData): string {
  const bars = siteBars(data);
  if (bars.length === 0) return `<section id="sites"><h2>Outstanding bytes per call site</h2><p class="empty">No call sites were attributed.</p></section>`;
  const max = Math.max(1, ...bars.map((bar) => bar.bytes));
  const items = bars
    .map((bar) => {
      const width = Math.max(bar.bytes > 0 ? 0.5 : 0, (bar.bytes / max) * 100);
      return `<li class="${bar.culprit ? 'culprit' : ''}"><div class="bar-label"><code>${h(bar.frame)}</code> <span class="muted">${h(quoteTag(bar.tag))}</span> <span class="num">${h(formatBytes(bar.bytes))} · ${h(formatCount(bar.outstanding))} outstanding</span></div>` +
        `<svg class="bar" width="100%" height="14" role="presentation"><rect x="0" y="0" height="14" width="${width.toFixed(2)}%" rx="2"></rect></svg></li>`;
    })
    .join('');
  return `<section id="sites"><h2>Outstanding bytes per call site</h2><ol class="bars">${items}</ol></section>`;
}

// The culprit's outstanding stacks, aggregated like UMDH: `+ bytes (allocs) frame`.
function stacksSection(data: RunData): string {
  const stacks = culpritStacks(data);
  const culprit = data.report.culprit;
  if (!stacks || !culprit) return '';
  const others = stacks.others.length
    ? `<h3>Other call sites of ${h(quoteTag(padTag(culprit.tag)))}</h3><div class="tree">${stacks.others.map((tree) => treeHtml(tree, false, 0)).join('')}</div>`
    : '';
  return `<section id="stacks"><h2>Culprit's stacks</h2>
<p class="caption">Outstanding allocations of tag ${h(quoteTag(padTag(culprit.tag)))} (${h(describeOwner(data.ownerOf(culprit.tag)))}), aggregated by stack from ${h(stacks.source)}: <code>+ bytes (allocs) frame</code>, callers below.</p>
<div class="tree">${treeHtml(stacks.tree, true, 0)}</div>${others}</section>`;
}

// The ranking with owners.
function tagsSection(data: RunData): string {
  const tags = topTags(data, 15);
  if (tags.length === 0) return '';
  const rows = tags
    .map(
      (tag) =>
        `<tr${tag.suspect ? ' class="suspect"' : ''}><td><code>${h(quoteTag(padTag(tag.tag)))}</code>${tag.suspect ? ' ★' : ''}</td><td>${h(tag.pool)}</td><td class="num">${h(formatBytes(tag.bytes))}</td><td class="num">${h(formatCount(tag.allocs))}</td><td class="num">${h(formatRate(tag.growthBytesPerMinute))}</td><td>${h(tag.owner?.binary ?? (tag.owner ? '—' : 'unknown'))}</td><td>${h(tag.owner?.description ?? '')}</td></tr>`,
    )
    .join('');
  return `<section id="tags"><h2>Top tags</h2><div class="scroll"><table><thead><tr><th>Tag</th><th>Pool</th><th>Bytes</th><th>Allocs</th><th>Growth</th><th>Owner</th><th>Description</th></tr></thead><tbody>${rows}</tbody></table></div></section>`;
}

// What the target is, as gathered on connect.
function targetSection(report: HuntReport): string {
  const facts = report.target;
  if (!facts) return '';
  const os = facts.os ?? ({} as Partial<HuntReport['target']['os']>);
  return `<section id="target"><h2>Target</h2>${definitionList([
    ['Windows', [os.alias, os.version, os.arch].filter(Boolean).join(' ')],
    ['Build', os.build],
    ['Service pack', os.sp],
    ['Product', os.product],
    ['Build lab', os.buildLab],
    ['Processors', os.processors === undefined ? undefined : `${os.processors}${os.mp ? ' (MP)' : ''}`],
    ['Pool allocator', facts.pool?.allocator],
    ['Pool tagging', facts.pool === undefined ? undefined : facts.pool.taggingEnabled ? 'enabled' : 'disabled'],
    ['Target', facts.target ? `${facts.target.kind} ${facts.target.spec}` : undefined],
    ['Debugger', facts.debugger ? `${facts.debugger.transport}${facts.debugger.version ? ` ${facts.debugger.version}` : ''}` : undefined],
    ['Started', report.startedAt],
    ['Duration', formatDuration(report.durationMs)],
  ])}</section>`;
}

// Which provider ran each step on this version, and why the plan chose it.
function planSection(report: HuntReport): string {
  if (!report.steps.length) return '';
  const rows = report.steps
    .map(
      (step) =>
        `<tr class="status-${h(step.status)}"><td><code>${h(step.id)}</code></td><td>${h(step.uses)}</td><td><code>${h(step.provider)}</code></td><td>${h(step.status)}</td><td class="num">${h(formatDuration(step.durationMs))}</td><td>${h(step.reason ?? '')}${step.error ? `<div class="error">${h(step.error.code)}: ${h(step.error.message)}</div>` : ''}</td></tr>`,
    )
    .join('');
  return `<section id="plan"><h2>Plan</h2><div class="scroll"><table><thead><tr><th>Step</th><th>Uses</th><th>Provider</th><th>Status</th><th>Time</th><th>Why this provider</th></tr></thead><tbody>${rows}</tbody></table></div></section>`;
}

// Debugger commands: time per verb, then the first commands in order.
function commandsSection(data: RunData): string {
  const stats = data.commands;
  if (stats.total === 0) return `<section id="commands"><h2>Debugger commands</h2><p class="empty">No transcript was recorded.</p></section>`;
  const verbs = stats.byVerb
    .map((verb) => `<tr><td><code>${h(verb.verb)}</code></td><td class="num">${h(formatCount(verb.count))}</td><td class="num">${h(formatDuration(verb.totalMs))}</td><td class="num">${h(formatDuration(verb.totalMs / verb.count))}</td><td class="num">${h(formatDuration(verb.maxMs))}</td></tr>`)
    .join('');
  const list = stats.first
    .map((command, index) => `<tr><td class="num">${index + 1}</td><td><code>${h(command.command)}</code></td><td class="num">${h(formatDuration(command.durationMs))}</td><td>${command.complete ? '' : 'cut'}</td></tr>`)
    .join('');
  const more = stats.total - stats.first.length;
  return `<section id="commands"><h2>Debugger commands</h2>
<p class="caption">${h(formatCount(stats.total))} commands, ${h(formatDuration(stats.totalMs))} in the debugger${stats.incomplete ? `, ${h(formatCount(stats.incomplete))} cut short` : ''}.</p>
<div class="scroll"><table><thead><tr><th>Command</th><th>Count</th><th>Total</th><th>Mean</th><th>Max</th></tr></thead><tbody>${verbs}</tbody></table></div>
<details><summary>Commands in order${more > 0 ? ` (first ${h(formatCount(stats.first.length))}; ${h(formatCount(more))} more in transcript.jsonl)` : ''}</summary><div class="scroll"><table><thead><tr><th>#</th><th>Command</th><th>Time</th><th></th></tr></thead><tbody>${list}</tbody></table></div></details>
</section>`;
}

const pageStyle = `
:root{--fg:#111827;--muted:#6b7280;--line:#e5e7eb;--bg:#fff;--leak:#b91c1c;--ok:#047857;--warn:#b45309;--bar:#6b7280;--suspect:#dc2626}
*{box-sizing:border-box}
body{margin:0 auto;max-width:1100px;padding:16px;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg)}
h1{margin:.1em 0;font-size:1.8em}h2{margin:1.6em 0 .4em;font-size:1.25em;border-bottom:1px solid var(--line);padding-bottom:.2em}h3{font-size:1.05em}
code{font:13px/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;overflow-wrap:break-word}
td code{white-space:pre}
.verdict{border-left:8px solid var(--muted);padding:12px 16px;background:#f9fafb;border-radius:6px}
.verdict-leak{border-color:var(--leak)}.verdict-leak h1{color:var(--leak)}
.verdict-no-leak{border-color:var(--ok)}.verdict-no-leak h1{color:var(--ok)}
.verdict-inconclusive{border-color:var(--warn)}.verdict-inconclusive h1{color:var(--warn)}
.kicker,.caption,.muted,.empty{color:var(--muted)}.kicker{margin:0;font-size:.85em}.reason{font-size:1.05em;margin:.3em 0 .6em}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:2px 14px;margin:0}dl.facts dt{color:var(--muted)}dl.facts dd{margin:0;overflow-wrap:break-word}
.chart{width:100%;min-height:300px}
.chart .u-legend th{font-weight:500}.chart .u-inline.u-live tr:has(.u-value:empty) th::after{content:none}.chart .u-legend .u-value:empty{display:none}
.scroll{overflow-x:auto}
table{border-collapse:collapse;width:100%;font-size:.92em}th,td{border-bottom:1px solid var(--line);padding:3px 8px;text-align:left;vertical-align:top}
th{font-weight:600;background:#f9fafb}.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
tr.suspect td{background:#fef2f2}tr.status-failed td{background:#fef2f2}.error{color:var(--leak)}
ol.bars{list-style:none;padding:0;margin:0}ol.bars li{margin:0 0 8px}
.bar-label{display:flex;flex-wrap:wrap;gap:4px 10px;align-items:baseline}.bar-label .num{margin-left:auto}
svg.bar{display:block}svg.bar rect{fill:var(--bar)}li.culprit svg.bar rect{fill:var(--suspect)}li.culprit code{font-weight:700}
.tree{padding-left:1.2em}.tree details{margin-left:0}.tree .children{margin-left:1.1em;border-left:1px dotted #d1d5db;padding-left:.5em}
.tree summary{cursor:pointer;list-style-position:outside}.tree .leaf{padding-left:1em}.tree .more{color:var(--muted)}
.tree .num{color:var(--muted)}
footer{margin-top:2em;color:var(--muted);font-size:.85em}
@media (max-width:640px){body{padding:10px;font-size:14px}h1{font-size:1.45em}dl.facts{grid-template-columns:1fr}dl.facts dt{margin-top:4px}.chart{min-height:240px}}
@media print{
  body{max-width:none;padding:0;font-size:11pt}
  .verdict{background:none}
  *{-webkit-print-color-adjust:exact;print-color-adjust:exact}
  details>summary{list-style:none}details{display:block}
  section{break-inside:avoid-page}h2{break-after:avoid}
  .scroll{overflow:visible}
  .chart{min-height:0}
}
`;

// Draws the usage chart with uPlot, keeps it sized to its box, opens every <details> for print.
const chartScript = `
(function () {
  var data = JSON.parse(document.getElementById('leakhunt-data').textContent);
  var box = document.getElementById('usage-chart');
  function bytes(v) {
    if (v == null) return '';
    var units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'], i = 0, x = Math.abs(v);
    while (x >= 1024 && i < units.length - 1) { x /= 1024; i++; }
    return (v < 0 ? '-' : '') + (i === 0 ? x : x.toFixed(x >= 100 ? 0 : 1)) + ' ' + units[i];
  }
  window.addEventListener('beforeprint', function () {
    document.querySelectorAll('details').forEach(function (d) { d.setAttribute('open', ''); });
  });
  if (!box || !data.usage.minutes.length) return;
  if (typeof uPlot === 'undefined') return;
  var palette = ['#2563eb', '#059669', '#d97706', '#7c3aed', '#0891b2', '#6b7280', '#db2777'];
  var n = 0;
  var series = [{ label: 'minutes', value: function (u, v) { return v == null ? '' : v.toFixed(2) + ' min'; } }];
  data.usage.series.forEach(function (s) {
    series.push({
      label: "'" + s.tag + "' " + s.pool + (s.suspect ? ' (suspect)' : ''),
      stroke: s.suspect ? '#dc2626' : palette[n++ % palette.length],
      width: s.suspect ? 3 : 1.5,
      spanGaps: false,
      points: { show: data.usage.minutes.length <= 40 },
      value: function (u, v) { return bytes(v); }
    });
  });
  // Round steps of the bytes axis: 1, 2, 2.5 or 5 times a power of ten of B, KiB, MiB or GiB.
  function byteStep(span, ticks) {
    var raw = Math.max(span / ticks, 1), unit = 1;
    while (raw / unit >= 1024) unit *= 1024;
    var m = raw / unit, p = Math.pow(10, Math.floor(Math.log10(m))), f = m / p;
    return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 2.5 ? 2.5 : f <= 5 ? 5 : 10) * p * unit;
  }
  // From 0 (or below the lowest value) to a round value above the highest, so the top line stays inside.
  function yRange(u, min, max) {
    var lo = min >= 0 ? 0 : min, step = byteStep(max - lo, 4);
    lo = Math.floor(lo / step) * step;
    var hi = Math.ceil((max + step * 0.1) / step) * step;
    return [lo, hi > lo ? hi : lo + step];
  }
  function ySplits(u, axis, min, max) {
    var step = byteStep(max - min, 4), out = [];
    for (var v = Math.ceil(min / step) * step; v <= max + step / 1e6; v += step) out.push(v);
    return out;
  }
  function width() { return Math.max(260, Math.floor(box.getBoundingClientRect().width || 600)); }
  function height() { return window.innerWidth < 640 ? 240 : 300; }
  var plot = new uPlot({
    width: width(), height: height(),
    scales: { x: { time: false }, y: { range: yRange } },
    axes: [
      { label: data.xLabel },
      { label: 'bytes', size: 72, splits: ySplits, values: function (u, vals) {
        var labels = vals.map(function (v) { return bytes(v).replace('.0 ', ' '); });
        // What the axis shows, for readers of the page without the canvas (and the browser test).
        box.setAttribute('data-y-ticks', JSON.stringify(vals));
        box.setAttribute('data-y-range', JSON.stringify([u.scales.y.min, u.scales.y.max]));
        return labels;
      } }
    ],
    series: series
  }, [data.usage.minutes].concat(data.usage.series.map(function (s) { return s.bytes; })), box);
  var last = width();
  window.addEventListener('resize', function () {
    var w = width();
    if (w !== last) { last = w; plot.setSize({ width: w, height: height() }); }
  });
  window.addEventListener('beforeprint', function () { plot.setSize({ width: 680, height: 280 }); });
  window.addEventListener('afterprint', function () { plot.setSize({ width: width(), height: height() }); });
})();
`;

/** Render report.html from a loaded run. */
export function renderHtml(data: RunData, assets: ChartAssets = readChartAssets()): string {
  const { report } = data;
  const usage = usageSeries(data);
  const payload = { usage, xLabel: report.sampleAxis === 'order' ? 'sample (in log order)' : 'minutes since first sample' };
  const title = `leakhunt: ${verdictTitles[report.verdict] ?? report.verdict} — ${report.playbook}`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="leakhunt">
<title>${h(title)}</title>
<style>${inlineSafe(assets.style, 'style')}</style>
<style>${pageStyle}</style>
</head>
<body>
${verdictSection(data)}
<main>
${usageSection(data)}
${sitesSection(data)}
${stacksSection(data)}
${tagsSection(data)}
${targetSection(report)}
${planSection(report)}
${commandsSection(data)}
</main>
<footer>Generated by leakhunt from report.json${data.stacks ? `, ${h(formatCount(data.stacks.records))} stacks from stacks.jsonl` : ''}. Charts: uPlot (MIT), inlined.</footer>
<script type="application/json" id="leakhunt-data">${jsonForScript(payload)}</script>
<script>${inlineSafe(assets.script, 'script')}</script>
<script>${chartScript}</script>
</body>
</html>
`;
}
