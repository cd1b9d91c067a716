/**
 * junit.xml: one test case per check, so a CI system can gate a driver on "no outstanding
 * growth": the suspect tag, the culprit site, and the growth of every call site against a
 * threshold the caller gives (`leakhunt report --max-growth <bytes/min>`).
 */
import { padTag } from '../kd/common.js';
import { escapeXml, formatBytes, formatCount, formatRate, quoteTag, siteLabel, siteNumbers } from './format.js';
import { describeOwner, type RunData } from './run-dir.js';

/** Outstanding growth a call site may show before its test case fails: allocations in flight when the hunt stopped. */
export const defaultMaxGrowthBytesPerMinute = 1024;

/** Options of renderJunit. */
export interface JunitOptions {
  /** A site whose outstanding bytes grow faster than this (bytes per minute) fails its test case. */
  maxGrowthBytesPerMinute?: number;
}

/** One check's outcome. */
export interface JunitCase {
  classname: string;
  name: string;
  outcome: 'passed' | 'failure' | 'error' | 'skipped';
  message?: string;
  /** Longer text for the failure body or system-out. */
  detail?: string;
}

/** The rendered XML and its counts. */
export interface JunitResult {
  xml: string;
  cases: JunitCase[];
  tests: number;
  failures: number;
  errors: number;
  skipped: number;
}

/** Work out the checks of a run (no XML yet). */
export function junitCases(data: RunData, options: JunitOptions = {}): JunitCase[] {
  const { report } = data;
  const threshold = options.maxGrowthBytesPerMinute ?? defaultMaxGrowthBytesPerMinute;
  const cases: JunitCase[] = [];
  const suspect = report.suspect;

  if (suspect) {
    const what = `${quoteTag(padTag(suspect.tag))} (${suspect.pool}, ${formatBytes(suspect.bytes)}, ${formatRate(suspect.growthBytesPerMinute)}; ${describeOwner(data.ownerOf(suspect.tag))})`;
    cases.push(
      report.verdict === 'leak'
        ? { classname: 'leakhunt.suspect', name: `suspect tag ${padTag(suspect.tag)}`, outcome: 'failure', message: `Pool tag ${what} leaks: ${report.reason}`, detail: report.reason }
        : report.verdict === 'inconclusive'
          ? { classname: 'leakhunt.suspect', name: `suspect tag ${padTag(suspect.tag)}`, outcome: 'error', message: `Suspect tag ${what}, but the hunt was inconclusive: ${report.reason}` }
          : { classname: 'leakhunt.suspect', name: `suspect tag ${padTag(suspect.tag)}`, outcome: 'passed', detail: `Top tag ${what}; verdict ${report.verdict}: ${report.reason}` },
    );
  } else {
    cases.push(
      report.verdict === 'inconclusive'
        ? { classname: 'leakhunt.suspect', name: 'suspect tag', outcome: 'error', message: `No suspect tag found and the hunt was inconclusive: ${report.reason}` }
        : { classname: 'leakhunt.suspect', name: 'suspect tag', outcome: 'passed', detail: `No tag grows: ${report.reason}` },
    );
  }

  const culprit = report.culprit;
  if (culprit) {
    cases.push({
      classname: 'leakhunt.culprit',
      name: `culprit site ${siteLabel(culprit)}`,
      outcome: 'failure',
      message: `Outstanding allocations of tag ${quoteTag(padTag(culprit.tag))} come from ${siteLabel(culprit)}`,
      detail: `module ${culprit.module}${culprit.function ? `, function ${culprit.function}` : ''}, offset 0x${culprit.offset.toString(16)}, ${culprit.pool} pool`,
    });
  } else if (report.verdict === 'leak') {
    cases.push({ classname: 'leakhunt.culprit', name: 'culprit site', outcome: 'error', message: 'A leak was found but no call site was named' });
  } else {
    cases.push({ classname: 'leakhunt.culprit', name: 'culprit site', outcome: 'passed', detail: 'No call site blamed' });
  }

  for (const site of report.sites) {
    const name = `outstanding growth ${site.frame} (${padTag(site.tag)})`;
    const numbers = siteNumbers(site);
    // retag: the new tag's growth; pairing: the lifetime-corrected leak rate in bytes.
    const growth = site.method === 'retag' ? site.growthBytesPerMinute : site.leakBytesPerMinute?.estimate ?? site.growthBytesPerMinute;
    if (growth === undefined || !Number.isFinite(growth)) {
      cases.push({ classname: 'leakhunt.growth', name, outcome: 'skipped', message: `Growth unknown (no collection time measured); ${numbers}` });
    } else if (growth > threshold) {
      cases.push({
        classname: 'leakhunt.growth',
        name,
        outcome: 'failure',
        message: `Outstanding bytes grow ${formatRate(growth)} (${Math.round(growth)} bytes/min), over the limit of ${threshold} bytes/min`,
        detail: numbers,
      });
    } else {
      cases.push({ classname: 'leakhunt.growth', name, outcome: 'passed', detail: `${formatRate(growth)} is within ${threshold} bytes/min; ${numbers}` });
    }
  }
  return cases;
}

/** ` name="value"`, escaped. */
export function xmlAttr(name: string, value: string | number): string {
  return ` ${name}="${escapeXml(String(value))}"`;
}

/** One check as a `<testcase>` (indented for a suite): failures are leaks, errors inconclusive hunts. */
export function junitCaseXml(c: JunitCase): string {
  const attr = xmlAttr;
  const open = `    <testcase${attr('classname', c.classname)}${attr('name', c.name)}${attr('time', '0')}`;
  if (c.outcome === 'passed') return c.detail ? `${open}>\n      <system-out>${escapeXml(c.detail)}</system-out>\n    </testcase>` : `${open}/>`;
  if (c.outcome === 'skipped') return `${open}>\n      <skipped${attr('message', c.message ?? '')}/>\n    </testcase>`;
  const type = c.outcome === 'failure' ? 'leak' : 'inconclusive';
  return `${open}>\n      <${c.outcome}${attr('message', c.message ?? '')}${attr('type', type)}>${escapeXml(c.detail ?? c.message ?? '')}</${c.outcome}>\n    </testcase>`;
}

/** `2024-05-01T10:00:00.000Z` → `2024-05-01T10:00:00` (the JUnit schema's timestamp has no zone). */
export function junitTimestamp(iso: string): string | undefined {
  const parsed = Date.parse(iso);
  return Number.isNaN(parsed) ? undefined : new Date(parsed).toISOString().slice(0, 19);
}

/** Render junit.xml (escaped, well-formed) and count its outcomes. */
export function renderJunit(data: RunData, options: JunitOptions = {}): JunitResult {
  const { report } = data;
  const cases = junitCases(data, options);
  const count = (outcome: JunitCase['outcome']) => cases.filter((c) => c.outcome === outcome).length;
  const totals = { tests: cases.length, failures: count('failure'), errors: count('error'), skipped: count('skipped') };
  const seconds = (Math.max(0, report.durationMs) / 1000).toFixed(3);
  const attr = xmlAttr;
  const counts = attr('tests', totals.tests) + attr('failures', totals.failures) + attr('errors', totals.errors) + attr('skipped', totals.skipped);
  const timestamp = junitTimestamp(report.startedAt);
  const os = report.target?.os;
  const lines = ['<?xml version="1.0" encoding="UTF-8"?>', `<testsuites${attr('name', 'leakhunt')}${counts}${attr('time', seconds)}>`];
  lines.push(`  <testsuite${attr('name', `leakhunt ${report.playbook}`)}${counts}${attr('time', seconds)}${timestamp ? attr('timestamp', timestamp) : ''}>`);
  lines.push('    <properties>');
  const properties: [string, string][] = [
    ['verdict', report.verdict],
    ['reason', report.reason],
    ['max-growth-bytes-per-minute', String(options.maxGrowthBytesPerMinute ?? defaultMaxGrowthBytesPerMinute)],
  ];
  if (os) properties.push(['target', `${os.alias} ${os.version} ${os.arch}`]);
  for (const [name, value] of properties) lines.push(`      <property${attr('name', name)}${attr('value', value)}/>`);
  lines.push('    </properties>');
  for (const c of cases) lines.push(junitCaseXml(c));
  lines.push('  </testsuite>', '</testsuites>', '');
  return { xml: lines.join('\n'), cases, ...totals };
}
