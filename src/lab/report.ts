/**
 * The lab report: one row per target (Windows version and arch, the providers that differ
 * between versions, verdict, suspect tag, culprit, growth, explained share), a summary by
 * culprit across targets, and links to each target's own report. Built from run directories
 * alone, so `leakhunt report --merge` makes the same report from directories collected from CI
 * runners as a lab run makes from its own.
 *
 * lab-report.json follows schemas/lab-report.schema.json.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join, relative, sep } from 'node:path';
import { compare as compareVersions, valid as validVersion } from 'semver';
import { readRunRecord } from '../core/resume.js';
import { escapeHtml, escapeMarkdown, formatRate } from '../report/format.js';
import { junitCases, junitCaseXml, junitTimestamp, xmlAttr, type JunitCase } from '../report/junit.js';
import type { HuntReport, Verdict } from '../report/model.js';
import type { RenderOptions } from '../report/render.js';
import { loadRun, readReportJson } from '../report/run-dir.js';
import { redactSecrets } from '../debuggers/redact.js';
import { listProfiles } from '../sim/profiles.js';
import { readTargetRecord, type TargetStatus } from './run.js';

/** One target's row. */
export interface LabRow {
  name: string;
  /** The target spec, keys redacted (absent when the run directory does not say). */
  spec?: string;
  labels: Record<string, string | number | boolean>;
  status: TargetStatus;
  exitCode?: number;
  /** What went wrong when the hunt gave no verdict. */
  error?: string;
  windows: { name: string; version: string; arch: string } | null;
  /** Step id → `plugin/provider` as the plan chose it on this target. */
  providers: Record<string, string>;
  verdict: Verdict | null;
  reason?: string;
  suspect: { tag: string; pool: string } | null;
  culprit: string | null;
  growthBytesPerMinute: number | null;
  /** Share of the suspect's growth the culprit's leak rate explains (0..1), when the report gives it. */
  explainedShare: number | null;
  /** The run directory and its report.html, relative to the lab report. */
  runDir: string;
  report: string | null;
}

/** One culprit across the lab. */
export interface CulpritSummary {
  culprit: string;
  targets: string[];
  of: number;
  /** `x!Y leaks on 7 of 9 targets: all Windows 10 1809 and later`. */
  text: string;
}

/** The whole of lab-report.json. */
export interface LabReport {
  schemaVersion: 1;
  playbook: string | null;
  generatedAt: string;
  targets: LabRow[];
  /** Steps whose provider differs between targets (the report's provider columns). */
  varyingSteps: string[];
  culprits: CulpritSummary[];
  /** Targets without a verdict from a finished hunt (failed, timed out, aborted, not run). */
  noVerdict: string[];
}

// The Windows name of a version: the simulator profile's title for a known build, else `Windows <version>`.
function windowsName(version: string): string {
  const profile = listProfiles().find((p) => `${p.major}.${p.minor}.${p.build}` === version);
  return profile ? profile.title.replace(/\s*\((x86|x64)\)$/, '') : `Windows ${version}`;
}

// The share of the suspect's growth the culprit explains (the culprit's, else the evidence's best
// site); null in reports written before the verdict measured it.
function explainedShareOf(report: HuntReport): number | null {
  const raw = report as unknown as { culprit?: { explained?: unknown } | null; evidence?: { explained?: unknown } };
  const value = raw.culprit?.explained ?? raw.evidence?.explained;
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

// Why a target has no report: its run's last error, from events.jsonl.
function runError(runDir: string): string | undefined {
  const file = join(runDir, 'events.jsonl');
  if (!existsSync(file)) return undefined;
  let found: string | undefined;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    try {
      const event = JSON.parse(line) as { event: string; level?: string; message?: string; error?: { code: string; message: string } };
      if (event.event === 'runEnd' && event.error) found = `${event.error.code}: ${event.error.message}`;
      else if (event.event === 'log' && event.level === 'error' && event.message) found = event.message;
    } catch {
      // a torn last line (the run was killed): the lines before it still count
    }
  }
  return found === undefined ? undefined : redactSecrets(found);
}

// A path for links: relative to the report, with forward slashes.
function link(from: string, to: string): string {
  return relative(from, to).split(sep).join('/') || '.';
}

/** Read one run directory as a lab row; `reportDir` is where the lab report will be written. */
export function readLabRow(runDir: string, reportDir: string): LabRow {
  const record = readTargetRecord(runDir);
  let spec = record?.spec;
  if (spec === undefined) {
    try {
      spec = redactSecrets(readRunRecord(runDir).target);
    } catch {
      spec = undefined;
    }
  }
  const reportFile = join(runDir, 'report.json');
  const report = existsSync(reportFile) ? readReportJson(reportFile) : undefined;
  const os = report?.target?.os as { version?: string; arch?: string } | undefined;
  const status: TargetStatus = record?.status ?? (report ? 'succeeded' : 'failed');
  const row: LabRow = {
    name: record?.name ?? basename(runDir),
    ...(spec !== undefined && { spec }),
    labels: record?.labels ?? {},
    status,
    ...(record?.exitCode !== undefined && { exitCode: record.exitCode }),
    windows: os?.version ? { name: windowsName(os.version), version: os.version, arch: os.arch ?? '?' } : null,
    providers: Object.fromEntries((report?.steps ?? []).map((step) => [step.id, step.provider])),
    verdict: report?.verdict ?? null,
    ...(report && { reason: report.reason }),
    suspect: report?.suspect ? { tag: report.suspect.tag, pool: report.suspect.pool } : null,
    culprit: report?.culprit?.frame ?? null,
    growthBytesPerMinute: report?.suspect?.growthBytesPerMinute ?? null,
    explainedShare: report ? explainedShareOf(report) : null,
    runDir: link(reportDir, runDir),
    report: existsSync(join(runDir, 'report.html')) ? link(reportDir, join(runDir, 'report.html')) : null,
  };
  if (!report || status !== 'succeeded') {
    const error = runError(runDir);
    if (error !== undefined) row.error = error;
  }
  return row;
}

// The culprit's function without its offset: `netx!NxAllocRxContext+0x1e` → `netx!NxAllocRxContext`
// (offsets differ between builds of the same driver).
function culpritKey(frame: string): string {
  return frame.replace(/\+0x[0-9a-f]+$/i, '');
}

// Versions as semver for ordering (`10.0.17763`); undefined when not one.
function semverOf(row: LabRow): string | undefined {
  return row.windows && validVersion(row.windows.version) ? row.windows.version : undefined;
}

// Where a culprit leaks, in words, among the targets that gave a verdict.
function where(leaking: readonly LabRow[], hunted: readonly LabRow[]): string {
  if (leaking.length === hunted.length) return hunted.length === 1 ? 'the only target with a verdict' : 'every target with a verdict';
  const names = new Set(leaking.map((row) => row.name));
  if (hunted.every((row) => semverOf(row) !== undefined)) {
    const sorted = [...hunted].sort((a, b) => compareVersions(semverOf(a)!, semverOf(b)!));
    const first = sorted.findIndex((row) => names.has(row.name));
    const last = sorted.length - 1 - [...sorted].reverse().findIndex((row) => names.has(row.name));
    const contiguous = sorted.slice(first, last + 1).every((row) => names.has(row.name));
    // Equal versions on both sides of the edge (x86 and x64 of one version) would make "and later" untrue.
    const clean = (edge: number, other: number) => other < 0 || other >= sorted.length || compareVersions(semverOf(sorted[edge]!)!, semverOf(sorted[other]!)!) !== 0;
    if (contiguous && last === sorted.length - 1 && clean(first, first - 1)) return `all ${sorted[first]!.windows!.name} and later`;
    if (contiguous && first === 0 && clean(last, last + 1)) return `all up to ${sorted[last]!.windows!.name}`;
  }
  return leaking.map((row) => row.name).join(', ');
}

/** Build the lab report from rows (in the order given). */
export function buildLabReport(rows: LabRow[], playbook: string | null): LabReport {
  // A verdict counts only from a hunt that finished (an aborted one may still have written an inconclusive report).
  const counts = (row: LabRow) => row.verdict !== null && row.status === 'succeeded';
  const hunted = rows.filter(counts);
  const byCulprit = new Map<string, LabRow[]>();
  for (const row of hunted) {
    if (row.verdict !== 'leak' || row.culprit === null) continue;
    const key = culpritKey(row.culprit);
    byCulprit.set(key, [...(byCulprit.get(key) ?? []), row]);
  }
  const culprits = [...byCulprit.entries()]
    .sort((a, b) => b[1].length - a[1].length || a[0].localeCompare(b[0]))
    .map(([culprit, leaking]) => ({ culprit, targets: leaking.map((row) => row.name), of: hunted.length, text: `${culprit} leaks on ${leaking.length} of ${hunted.length} target${hunted.length === 1 ? '' : 's'}: ${where(leaking, hunted)}` }));
  const steps = [...new Set(rows.flatMap((row) => Object.keys(row.providers)))];
  const varyingSteps = steps.filter((step) => new Set(hunted.map((row) => row.providers[step]).filter((p) => p !== undefined)).size > 1);
  return { schemaVersion: 1, playbook, generatedAt: new Date().toISOString(), targets: rows, varyingSteps, culprits, noVerdict: rows.filter((row) => !counts(row)).map((row) => row.name) };
}

// Numbers as the table shows them; "—" for what a row does not have.
const dash = '—';
function share(value: number | null): string {
  return value === null ? dash : `${Math.round(value * 100)}%`;
}
function growth(value: number | null): string {
  return value === null ? dash : formatRate(value);
}
function outcome(row: LabRow): string {
  return row.verdict ?? `${row.status}${row.error ? `: ${row.error}` : ''}`;
}

/** lab-report.md. */
export function renderLabMarkdown(lab: LabReport): string {
  const lines = [`# Lab report${lab.playbook ? `: ${escapeMarkdown(lab.playbook)}` : ''}`, ''];
  lines.push(`${lab.targets.length} target(s); ${lab.targets.length - lab.noVerdict.length} with a verdict.`, '');
  if (lab.culprits.length) {
    lines.push('## Culprits', '');
    for (const c of lab.culprits) lines.push(`- \`${c.culprit}\` leaks on ${c.targets.length} of ${c.of} target${c.of === 1 ? '' : 's'}: ${escapeMarkdown(c.text.slice(c.text.indexOf(': ') + 2))}`);
    lines.push('');
  } else {
    lines.push('No target names a culprit.', '');
  }
  if (lab.noVerdict.length) lines.push(`No verdict: ${lab.noVerdict.map((name) => `\`${name}\``).join(', ')}.`, '');
  lines.push('## Targets', '');
  const head = ['target', 'Windows', 'arch', ...lab.varyingSteps.map((step) => `\`${step}\``), 'verdict', 'suspect', 'culprit', 'growth', 'explained', 'report'];
  lines.push(`| ${head.join(' | ')} |`, `| ${head.map(() => '---').join(' | ')} |`);
  for (const row of lab.targets) {
    const cells = [
      `\`${row.name}\``,
      row.windows ? `${escapeMarkdown(row.windows.name)} (${row.windows.version})` : dash,
      row.windows?.arch ?? dash,
      ...lab.varyingSteps.map((step) => (row.providers[step] ? `\`${row.providers[step]}\`` : dash)),
      escapeMarkdown(outcome(row)).replace(/\|/g, '\\|'),
      row.suspect ? `\`${row.suspect.tag}\` ${row.suspect.pool}` : dash,
      row.culprit ? `\`${row.culprit}\`` : dash,
      growth(row.growthBytesPerMinute),
      share(row.explainedShare),
      row.report ? `[report](${row.report})` : `[run](${row.runDir})`,
    ];
    lines.push(`| ${cells.join(' | ')} |`);
  }
  lines.push('');
  return lines.join('\n');
}

/** lab-report.html: one self-contained page (no scripts, no external files). */
export function renderLabHtml(lab: LabReport): string {
  const e = escapeHtml;
  const head = ['target', 'Windows', 'arch', ...lab.varyingSteps, 'verdict', 'suspect', 'culprit', 'growth', 'explained', 'report'];
  const rows = lab.targets.map((row) => {
    const cells = [
      `<code>${e(row.name)}</code>`,
      row.windows ? `${e(row.windows.name)} <small>${e(row.windows.version)}</small>` : dash,
      e(row.windows?.arch ?? dash),
      ...lab.varyingSteps.map((step) => (row.providers[step] ? `<code>${e(row.providers[step]!)}</code>` : dash)),
      `<span class="verdict ${e(row.verdict ?? row.status)}">${e(outcome(row))}</span>`,
      row.suspect ? `<code>${e(row.suspect.tag)}</code> ${e(row.suspect.pool)}` : dash,
      row.culprit ? `<code>${e(row.culprit)}</code>` : dash,
      e(growth(row.growthBytesPerMinute)),
      e(share(row.explainedShare)),
      row.report ? `<a href="${e(row.report)}">report</a>` : `<a href="${e(row.runDir)}">run</a>`,
    ];
    return `<tr data-target="${e(row.name)}">${cells.map((cell) => `<td>${cell}</td>`).join('')}</tr>`;
  });
  const summary = lab.culprits.length
    ? `<ul id="culprits">${lab.culprits.map((c) => `<li><code>${e(c.culprit)}</code> ${e(c.text.slice(c.culprit.length + 1))}</li>`).join('')}</ul>`
    : '<p id="culprits">No target names a culprit.</p>';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Lab report${lab.playbook ? ` — ${e(lab.playbook)}` : ''}</title>
<style>
body { font: 14px/1.45 system-ui, sans-serif; margin: 1.5rem; color: #1b1f24; }
h1 { font-size: 1.4rem; } code { font: 12px ui-monospace, monospace; }
.scroll { overflow-x: auto; } table { border-collapse: collapse; }
th, td { border-bottom: 1px solid #d0d7de; padding: .35rem .6rem; text-align: left; vertical-align: top; }
th { background: #f6f8fa; position: sticky; top: 0; }
.verdict.leak { color: #b42318; font-weight: 600; } .verdict.no-leak { color: #1a7f37; }
.verdict.inconclusive, .verdict.failed, .verdict.timed-out, .verdict.aborted, .verdict.not-run, .verdict.invalid { color: #9a6700; font-weight: 600; }
</style></head><body>
<h1>Lab report${lab.playbook ? `: <code>${e(lab.playbook)}</code>` : ''}</h1>
<p>${lab.targets.length} target(s); ${lab.targets.length - lab.noVerdict.length} with a verdict${lab.noVerdict.length ? `; no verdict from ${lab.noVerdict.map((n) => `<code>${e(n)}</code>`).join(', ')}` : ''}.</p>
<h2>Culprits</h2>
${summary}
<h2>Targets</h2>
<div class="scroll"><table id="targets"><thead><tr>${head.map((h) => `<th>${e(h)}</th>`).join('')}</tr></thead>
<tbody>
${rows.join('\n')}
</tbody></table></div>
</body></html>
`;
}

/** lab-junit.xml: one test suite per target, holding that target's own checks (junit.xml's) after a "hunt ran" case. */
export async function renderLabJunit(lab: LabReport, reportDir: string, options: RenderOptions = {}): Promise<string> {
  const suites: string[] = [];
  let totals = { tests: 0, failures: 0, errors: 0, skipped: 0 };
  for (const row of lab.targets) {
    const cases: JunitCase[] = [
      row.status === 'succeeded'
        ? { classname: 'leakhunt.lab', name: 'hunt ran', outcome: 'passed', detail: row.spec ?? row.name }
        : { classname: 'leakhunt.lab', name: 'hunt ran', outcome: 'error', message: `The hunt ${row.status}${row.error ? `: ${row.error}` : ''}` },
    ];
    let startedAt: string | undefined;
    if (row.verdict !== null) {
      const data = await loadRun(join(reportDir, row.runDir), options);
      startedAt = data.report.startedAt;
      cases.push(...junitCases(data, options));
    }
    const count = (o: JunitCase['outcome']) => cases.filter((c) => c.outcome === o).length;
    const suite = { tests: cases.length, failures: count('failure'), errors: count('error'), skipped: count('skipped') };
    totals = { tests: totals.tests + suite.tests, failures: totals.failures + suite.failures, errors: totals.errors + suite.errors, skipped: totals.skipped + suite.skipped };
    const timestamp = startedAt ? junitTimestamp(startedAt) : undefined;
    const attrs = xmlAttr('name', row.name) + xmlAttr('tests', suite.tests) + xmlAttr('failures', suite.failures) + xmlAttr('errors', suite.errors) + xmlAttr('skipped', suite.skipped) + (timestamp ? xmlAttr('timestamp', timestamp) : '');
    const props = [['verdict', row.verdict ?? row.status], ['windows', row.windows ? `${row.windows.name} ${row.windows.version} ${row.windows.arch}` : 'unknown']];
    suites.push(`  <testsuite${attrs}>\n    <properties>\n${props.map(([n, v]) => `      <property${xmlAttr('name', n!)}${xmlAttr('value', v!)}/>`).join('\n')}\n    </properties>\n${cases.map(junitCaseXml).join('\n')}\n  </testsuite>`);
  }
  const counts = xmlAttr('tests', totals.tests) + xmlAttr('failures', totals.failures) + xmlAttr('errors', totals.errors) + xmlAttr('skipped', totals.skipped);
  return ['<?xml version="1.0" encoding="UTF-8"?>', `<testsuites${xmlAttr('name', 'leakhunt lab')}${counts}>`, ...suites, '</testsuites>', ''].join('\n');
}

/** Read the run directories, write lab-report.{json,md,html} and lab-junit.xml into `reportDir`; returns the report and the files. */
export async function writeLabReports(runDirs: readonly string[], reportDir: string, playbook: string | null, options: RenderOptions = {}): Promise<{ lab: LabReport; files: string[] }> {
  const lab = buildLabReport(runDirs.map((dir) => readLabRow(dir, reportDir)), playbook);
  const files = [join(reportDir, 'lab-report.json'), join(reportDir, 'lab-report.md'), join(reportDir, 'lab-report.html'), join(reportDir, 'lab-junit.xml')];
  writeFileSync(files[0]!, `${JSON.stringify(lab, null, 2)}\n`);
  writeFileSync(files[1]!, renderLabMarkdown(lab));
  writeFileSync(files[2]!, renderLabHtml(lab));
  writeFileSync(files[3]!, await renderLabJunit(lab, reportDir, options));
  return { lab, files };
}
