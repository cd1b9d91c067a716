// The lab report from rows: the summary by culprit in words, the provider columns, the schema
// of lab-report.json, and lab-report.html as a reader sees it in headless Chromium.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { execa } from 'execa';
import { describe, expect, test } from 'vitest';
import { createAjv } from '../../src/core/ajv.js';
import { buildLabReport, renderLabHtml, renderLabMarkdown, type LabRow } from '../../src/lab/report.js';
import { findChromium } from '../support/chromium.js';

const root = fileURLToPath(new URL('../../', import.meta.url));

// A row as a hunt on `version` would give it.
function row(name: string, version: string, arch: string, culprit: string | null, extra: Partial<LabRow> = {}): LabRow {
  return {
    name,
    labels: {},
    status: 'succeeded',
    windows: { name: `Windows ${version}`, version, arch },
    providers: { rank: 'pool/poolused', collect: version >= '10.0.19' ? 'pool/segment-heap' : 'pool/classic' },
    verdict: culprit ? 'leak' : 'no-leak',
    suspect: culprit ? { tag: 'NxRx', pool: 'nonpaged' } : null,
    culprit,
    growthBytesPerMinute: culprit ? 94_000 : null,
    explainedShare: culprit ? 0.93 : null,
    runDir: `targets/${name}`,
    report: `targets/${name}/report.html`,
    ...extra,
  };
}
const leak = 'netx!NxAllocRxContext+0x1e';

describe('the summary by culprit', () => {
  test('from a version on, up to a version, or the targets by name', () => {
    const later = buildLabReport([row('xp', '5.1.2600', 'x86', null), row('w7', '6.1.7601', 'x64', null), row('w1809', '10.0.17763', 'x64', leak), row('w11', '10.0.26100', 'x64', 'netx!NxAllocRxContext+0x22')], 'p.yaml');
    expect(later.culprits).toEqual([{ culprit: 'netx!NxAllocRxContext', targets: ['w1809', 'w11'], of: 4, text: 'netx!NxAllocRxContext leaks on 2 of 4 targets: all Windows 10.0.17763 and later' }]);
    const upTo = buildLabReport([row('xp', '5.1.2600', 'x86', leak), row('w7', '6.1.7601', 'x64', leak), row('w1809', '10.0.17763', 'x64', null)], null);
    expect(upTo.culprits[0]!.text).toBe('netx!NxAllocRxContext leaks on 2 of 3 targets: all up to Windows 6.1.7601');
    const scattered = buildLabReport([row('xp', '5.1.2600', 'x86', leak), row('w7', '6.1.7601', 'x64', null), row('w1809', '10.0.17763', 'x64', leak)], null);
    expect(scattered.culprits[0]!.text).toBe('netx!NxAllocRxContext leaks on 2 of 3 targets: xp, w1809');
    const all = buildLabReport([row('xp', '5.1.2600', 'x86', leak), row('w7', '6.1.7601', 'x64', leak)], null);
    expect(all.culprits[0]!.text).toBe('netx!NxAllocRxContext leaks on 2 of 2 targets: every target with a verdict');
  });

  test('x86 and x64 of one version on both sides of the edge are not "and later"; failed targets do not count', () => {
    const lab = buildLabReport([row('w7-x86', '6.1.7601', 'x86', null), row('w7-x64', '6.1.7601', 'x64', leak), row('w10', '10.0.17763', 'x64', leak), row('dead', '', '', null, { status: 'failed', verdict: null, windows: null, providers: {}, report: null, error: 'SESSION_FAILED: gone' })], null);
    expect(lab.culprits[0]!.text).toBe('netx!NxAllocRxContext leaks on 2 of 3 targets: w7-x64, w10');
    expect(lab.noVerdict).toEqual(['dead']);
  });

  test('lab-report.json follows schemas/lab-report.schema.json; the Markdown shows "—" for what a row lacks', () => {
    const lab = buildLabReport([row('w1607', '10.0.14393', 'x64', null), row('w22h2', '10.0.19045', 'x64', leak, { explainedShare: null })], 'find-pool-leak.yaml');
    expect(lab.varyingSteps).toEqual(['collect']);
    const validate = createAjv().compile(JSON.parse(readFileSync(join(root, 'schemas/lab-report.schema.json'), 'utf8')));
    expect(validate(JSON.parse(JSON.stringify(lab))), JSON.stringify(validate.errors)).toBe(true);
    expect(validate({ ...lab, targets: [{ ...lab.targets[0], verdict: 'maybe' }] })).toBe(false);
    const markdown = renderLabMarkdown(lab);
    expect(markdown).toContain('| `w22h2` | Windows 10.0.19045 (10.0.19045) | x64 | `pool/segment-heap` | leak | `NxRx` nonpaged | `netx!NxAllocRxContext+0x1e` | +91.8 KiB/min | — | [report](targets/w22h2/report.html) |');
  });
});

const chromium = findChromium();
describe.skipIf(!chromium)(`lab-report.html in headless Chromium${chromium ? '' : ' — SKIPPED: no Chromium on PATH'}`, () => {
  test('one visible row per target, the leak in red, links to each report, names as text; nothing loaded from outside', async () => {
    const lab = buildLabReport([row('xp', '5.1.2600', 'x86', null), row('w1809', '10.0.17763', 'x64', leak), row('<img src=x onerror=alert(1)>', '10.0.26100', 'x64', leak)], 'find-pool-leak.yaml');
    const html = renderLabHtml(lab);
    expect(html).not.toMatch(/<(script|link|img)\b/i);
    const dir = mkdtempSync(join(tmpdir(), 'leakhunt-lab-html-'));
    const probe = `<script>window.addEventListener('load', function () {
      var rows = Array.prototype.slice.call(document.querySelectorAll('#targets tbody tr')).filter(function (r) { var b = r.getBoundingClientRect(); return b.height > 0 && r.checkVisibility(); });
      var leak = document.querySelector('tr[data-target="w1809"] .verdict');
      document.body.setAttribute('data-rows', String(rows.length));
      document.body.setAttribute('data-leak-color', getComputedStyle(leak).color);
      document.body.setAttribute('data-links', JSON.stringify(Array.prototype.map.call(document.querySelectorAll('#targets a'), function (a) { return a.getAttribute('href'); })));
      document.body.setAttribute('data-names', JSON.stringify(rows.map(function (r) { return r.cells[0].textContent; })));
      document.body.setAttribute('data-culprits', document.getElementById('culprits').textContent);
      document.body.setAttribute('data-probed', 'yes');
    });</script>`;
    const page = join(dir, 'lab-report.html');
    writeFileSync(page, html.replace('</body>', `${probe}</body>`));
    const flags = ['--headless', ...(process.getuid?.() === 0 ? ['--no-sandbox'] : []), '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--virtual-time-budget=3000', `--user-data-dir=${mkdtempSync(join(tmpdir(), 'leakhunt-chromium-'))}`, '--window-size=1200,900', '--dump-dom'];
    const result = await execa(chromium!, [...flags, pathToFileURL(page).href], { timeout: 45_000, reject: false });
    const body = /<body([^>]*)>/.exec(result.stdout)?.[1] ?? '';
    const attr = (name: string) => (new RegExp(`data-${name}="([^"]*)"`).exec(body)?.[1] ?? '').replace(/&quot;/g, '"').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
    expect(attr('probed'), result.stderr.slice(-500)).toBe('yes');
    expect(attr('rows')).toBe('3');
    expect(attr('leak-color')).toBe('rgb(180, 35, 24)');
    expect(JSON.parse(attr('links'))).toEqual(['targets/xp/report.html', 'targets/w1809/report.html', 'targets/<img src=x onerror=alert(1)>/report.html']);
    expect(JSON.parse(attr('names'))).toEqual(['xp', 'w1809', '<img src=x onerror=alert(1)>']);
    expect(attr('culprits')).toBe('netx!NxAllocRxContext leaks on 2 of 3 targets: all Windows 10.0.17763 and later');
  }, 60_000);
});
