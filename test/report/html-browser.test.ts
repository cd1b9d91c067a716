/**
 * Opens a rendered report.html in headless Chromium (Debian's `chromium`), offline, and checks
 * what a reader sees: the usage chart's canvas drew lines (the suspect's in red), the site bars
 * have width, the culprit's frame is visible in the open call tree, a narrow screen needs no
 * horizontal scrolling, and a screenshot shows the chart's pixels where the page put the chart.
 * Skipped, with the reason in its name, where no Chromium is installed.
 */
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { execa } from 'execa';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { renderReports } from '../../src/report/render.js';
import { copyRun, tagOptions } from './helpers.js';
import { findChromium } from '../support/chromium.js';

const chromium = findChromium();
const skipReason = chromium ? '' : " — SKIPPED: no Chromium on PATH (install Debian's chromium package, or set LEAKHUNT_CHROMIUM)";

// Measures the page after the report's own script ran and writes the results on <body>.
const probe = `<script>
window.addEventListener('load', function () {
  setTimeout(function () {
    var body = document.body;
    var canvas = document.querySelector('#usage-chart canvas');
    var drawn = 0, red = 0;
    if (canvas) {
      var px = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
      for (var i = 0; i < px.length; i += 4) {
        if (px[i + 3] > 0) { drawn++; if (px[i] > 180 && px[i + 1] < 90 && px[i + 2] < 90) red++; }
      }
      var r = canvas.getBoundingClientRect();
      body.setAttribute('data-chart-rect', [r.left, r.top, r.width, r.height].map(Math.round).join(','));
    }
    body.setAttribute('data-chart-pixels', String(drawn));
    body.setAttribute('data-chart-red-pixels', String(red));
    var bar = document.querySelector('li.culprit svg.bar rect');
    body.setAttribute('data-culprit-bar-width', bar ? String(Math.round(bar.getBoundingClientRect().width)) : '-1');
    var frames = Array.prototype.slice.call(document.querySelectorAll('#stacks .tree code'));
    var visible = frames.filter(function (el) {
      var rect = el.getBoundingClientRect();
      return el.checkVisibility() && rect.width > 0 && rect.height > 0;
    }).map(function (el) { return el.textContent; });
    body.setAttribute('data-visible-frames', JSON.stringify(visible));
    var chart = document.getElementById('usage-chart');
    body.setAttribute('data-y-ticks', chart.getAttribute('data-y-ticks') || '[]');
    body.setAttribute('data-y-range', chart.getAttribute('data-y-range') || '[]');
    var usage = JSON.parse(document.getElementById('leakhunt-data').textContent).usage;
    body.setAttribute('data-y-max', String(Math.max.apply(null, usage.series.map(function (s) { return Math.max.apply(null, s.bytes.filter(function (v) { return v != null; })); }))));
    // Legend entries that print "label:" with nothing after the colon.
    var emptyLabels = Array.prototype.slice.call(document.querySelectorAll('.u-legend tr')).filter(function (tr) {
      var th = tr.querySelector('th'), value = tr.querySelector('.u-value');
      var after = th ? getComputedStyle(th, '::after').content : 'none';
      return /:/.test(after) && (!value || value.textContent.trim() === '' || getComputedStyle(value).display === 'none');
    }).map(function (tr) { return tr.textContent.trim(); });
    body.setAttribute('data-empty-legend-labels', JSON.stringify(emptyLabels));
    // Tags and identifiers (code without spaces) drawn on more than one line: broken mid-word.
    var broken = Array.prototype.slice.call(document.querySelectorAll('#tags td code, #sites code, #stacks code')).filter(function (el) {
      return !/\s/.test(el.textContent.trim()) && el.getClientRects().length > 1;
    }).map(function (el) { return el.textContent; });
    var tagsBroken = Array.prototype.slice.call(document.querySelectorAll('#tags td:first-child code')).filter(function (el) {
      return el.getClientRects().length > 1 || el.getBoundingClientRect().height > parseFloat(getComputedStyle(el).lineHeight) * 1.5;
    }).map(function (el) { return el.textContent; });
    body.setAttribute('data-broken-words', JSON.stringify(broken.concat(tagsBroken)));
    body.setAttribute('data-inner-width', String(window.innerWidth));
    body.setAttribute('data-overflow', String(document.documentElement.scrollWidth - window.innerWidth));
    body.setAttribute('data-probed', 'yes');
  }, 300);
});
</script>`;

const flags = [
  '--headless',
  ...(process.getuid?.() === 0 ? ['--no-sandbox'] : []),
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--hide-scrollbars',
  '--virtual-time-budget=5000',
];

let workDir: string;
let page: string;
const profiles: string[] = [];

// Run Chromium once on the probed page with a fresh profile; returns stdout.
async function runChromium(extra: string[], target = page): Promise<string> {
  const profile = mkdtempSync(join(tmpdir(), 'leakhunt-chromium-'));
  profiles.push(profile);
  const result = await execa(chromium!, [...flags, `--user-data-dir=${profile}`, ...extra, pathToFileURL(target).href], { timeout: 45_000, reject: false });
  if (result.exitCode !== 0) throw new Error(`chromium exited ${result.exitCode}: ${result.stderr.slice(-2000)}`);
  return result.stdout;
}

// The probe's attributes from a --dump-dom of the page.
function probed(dom: string): Record<string, string> {
  const body = /<body([^>]*)>/.exec(dom)?.[1] ?? '';
  const attributes: Record<string, string> = {};
  for (const match of body.matchAll(/data-([a-z-]+)="([^"]*)"/g)) {
    attributes[match[1]!] = match[2]!.replace(/&quot;/g, '"').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
  }
  return attributes;
}

describe.skipIf(!chromium)(`report.html in headless Chromium${skipReason}`, () => {
  beforeAll(async () => {
    const run = copyRun('leak-run');
    await renderReports(run, tagOptions);
    workDir = mkdtempSync(join(tmpdir(), 'leakhunt-html-'));
    page = join(workDir, 'report.html');
    const html = readFileSync(join(run, 'report.html'), 'utf8');
    writeFileSync(page, html.replace('</body>', `${probe}\n</body>`));
    copyFileSync(join(run, 'report.html'), join(workDir, 'original.html'));
  });

  afterAll(() => {
    for (const profile of profiles) rmSync(profile, { recursive: true, force: true });
  });

  test('the chart drew lines, the suspect in red; the culprit bar has width; the culprit frame is visible', async () => {
    const attributes = probed(await runChromium(['--window-size=1100,1800', '--dump-dom']));
    expect(attributes.probed).toBe('yes');
    expect(Number(attributes['chart-pixels'])).toBeGreaterThan(5000);
    expect(Number(attributes['chart-red-pixels'])).toBeGreaterThan(500);
    expect(Number(attributes['culprit-bar-width'])).toBeGreaterThan(500);
    const visible = JSON.parse(attributes['visible-frames']!) as string[];
    expect(visible.slice(0, 3)).toEqual(['abcflt!AbcAllocateContext+0x2a', 'abcflt!AbcCreate+0x71', 'FLTMGR!FltpPerformPreCallbacks+0x2f7']);
    // Closed branches keep their frames hidden until opened.
    expect(visible).toContain('abcflt!AbcCleanup+0x3e');
    expect(visible).not.toContain('nt!IopCloseFile+0x14b');
    // The hostile frame is text, not an element.
    expect(visible).toContain('evil!<img src=x onerror=alert(1)>+0x1');
  });

  test('a narrow screen (375 px, a phone) needs no horizontal scrolling, still draws the chart, and breaks no tag or identifier mid-word', async () => {
    // Headless windows are at least 500 px wide, so the page runs in a 375 px frame of a harness page.
    const harness = join(workDir, 'narrow.html');
    writeFileSync(
      harness,
      `<!doctype html><body style="margin:0"><iframe id="f" src="report.html" style="width:375px;height:1200px;border:0"></iframe><script>
      document.getElementById('f').addEventListener('load', function () {
        setTimeout(function () {
          var inner = document.getElementById('f').contentDocument.body;
          for (var i = 0; i < inner.attributes.length; i++) document.body.setAttribute(inner.attributes[i].name, inner.attributes[i].value);
        }, 600);
      });
      </script></body>`,
    );
    const attributes = probed(await runChromium(['--window-size=800,1300', '--allow-file-access-from-files', '--dump-dom'], harness));
    expect(attributes['inner-width']).toBe('375');
    // Tags and identifiers wrap between words (or scroll in their table), never inside one.
    expect(JSON.parse(attributes['broken-words']!)).toEqual([]);
    expect(Number(attributes.overflow)).toBeLessThanOrEqual(0);
    expect(Number(attributes['chart-pixels'])).toBeGreaterThan(2000);
    expect(Number(attributes['chart-rect']!.split(',')[2])).toBeLessThanOrEqual(375);
  });

  test('the bytes axis has round ticks, the top series stays inside the plot, no legend shows an empty "label:"', async () => {
    const attributes = probed(await runChromium(['--window-size=1100,1800', '--dump-dom']));
    const ticks = JSON.parse(attributes['y-ticks']!) as number[];
    const [, top] = JSON.parse(attributes['y-range']!) as [number, number];
    expect(ticks.length).toBeGreaterThanOrEqual(3);
    // Equal steps of 1, 2, 2.5 or 5 times a power of ten of B, KiB, MiB or GiB, starting at a multiple of the step.
    const step = ticks[1]! - ticks[0]!;
    const unit = [1024 ** 3, 1024 ** 2, 1024, 1].find((u) => step >= u)!;
    const mantissa = step / unit / 10 ** Math.floor(Math.log10(step / unit));
    expect([1, 2, 2.5, 5]).toContain(Number(mantissa.toFixed(6)));
    for (let i = 1; i < ticks.length; i++) expect(ticks[i]! - ticks[i - 1]!).toBeCloseTo(step, 6);
    expect(ticks[0]! % step).toBe(0);
    expect(top).toBeGreaterThan(Number(attributes['y-max']));
    expect(JSON.parse(attributes['empty-legend-labels']!)).toEqual([]);
  });

  test('the screenshot shows red suspect-line pixels inside the chart area', async () => {
    const attributes = probed(await runChromium(['--window-size=1100,1800', '--dump-dom']));
    const [left, top, width, height] = attributes['chart-rect']!.split(',').map(Number) as [number, number, number, number];
    const shot = join(workDir, 'shot.png');
    await runChromium(['--window-size=1100,1800', `--screenshot=${shot}`]);
    const png = PNG.sync.read(readFileSync(shot));
    let red = 0;
    let inked = 0;
    for (let y = top; y < Math.min(png.height, top + height); y++) {
      for (let x = left; x < Math.min(png.width, left + width); x++) {
        const i = (y * png.width + x) * 4;
        const [r, g, b] = [png.data[i]!, png.data[i + 1]!, png.data[i + 2]!];
        if (r < 245 || g < 245 || b < 245) inked++;
        if (r > 180 && g < 90 && b < 90) red++;
      }
    }
    expect(inked).toBeGreaterThan(3000);
    expect(red).toBeGreaterThan(500);
    if (process.env.LEAKHUNT_UPDATE_SCREENSHOT) {
      await execa(chromium!, [...flags, `--user-data-dir=${mkdtempSync(join(tmpdir(), 'leakhunt-chromium-'))}`, '--window-size=1000,1500', `--screenshot=${fileURLToPath(new URL('../../docs/report-screenshot.png', import.meta.url))}`, pathToFileURL(join(workDir, 'original.html')).href]);
    }
  });
});
