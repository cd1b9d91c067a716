/**
 * Benchmark 4: aggregation of 1,000,000 PoolHitTag stacks into per-site tables, time and peak
 * memory, each run in a fresh process. Two paths are measured:
 *
 * - `report`: `readStacksFile` (src/report/stacks-file.ts) streams a 1M-line stacks.jsonl, written in
 *   the shape pool.collect-stacks writes it, into the pairing book (src/evidence/pairing.ts) and
 *   sums it up with call trees (what `leakhunt report` does with a run directory);
 * - `collector`: the same pairing book as the collect-stacks plugin feeds it, the same stacks
 *   as the classified records the plugin builds for each one, listed with leak rates.
 *
 * The workload: 3 tags, 24 allocation sites with 2–4 caller chains each, their free sites,
 * addresses reused after a free as pool blocks are, 0–30 % of each site's blocks never freed.
 */
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { seededRandom } from '../dist/src/sim/seeded-random.js';
import { runWorker } from './lib/child.mjs';
import { cpuMs, nowMs, summarize } from './lib/stats.mjs';


/** The call sites of the workload: per site its tag, alloc frames, free frames, leak fraction, size. */
export function workloadSites() {
  const random = seededRandom(4);
  const sites = [];
  const tags = ['Abc ', 'Lea2', 'Ddk '];
  for (let index = 0; index < 24; index++) {
    const module = `drv${index % 6}`;
    const fn = `Drv${index}Allocate`;
    const offset = (0x10 + index * 7).toString(16);
    const chains = [];
    for (let chain = 0; chain < 2 + (index % 3); chain++) {
      chains.push([`${module}!Drv${index}Dispatch${chain}+0x${(0x20 + chain * 3).toString(16)}`, `nt!IofCallDriver+0x${(0x3a + chain).toString(16)}`, 'nt!IopParseDevice+0x37', 'nt!ObpLookupObjectName+0x4e9']);
    }
    sites.push({
      tag: tags[index % 3],
      site: `${module}!${fn}+0x${offset}`,
      alloc: chains.map((callers) => ['nt!DbgBreakPoint+0x0', 'nt!ExpInsertPoolTracker+0x6e', 'nt!ExAllocatePoolWithTag+0x4a9', `${module}!${fn}+0x${offset}`, ...callers]),
      freeSite: `${module}!Drv${index}Free+0x14`,
      free: ['nt!DbgBreakPoint+0x0', 'nt!ExpRemovePoolTracker+0x5b', 'nt!ExFreePoolWithTag+0x11e', `${module}!Drv${index}Free+0x14`, `${module}!Drv${index}Cleanup+0x1e`, 'nt!IofCallDriver+0x5e'],
      leak: (index % 4) * 0.1,
      size: 64 + Math.floor(random() * 2000),
    });
  }
  return sites;
}

/**
 * The stacks as compact arrays: operation (1 alloc, 2 free), site, caller chain, address, size.
 * A block's address goes back to a free list when it is freed, as the pool reuses blocks.
 */
export function generateStacks(count, seed = 1) {
  const random = seededRandom(seed);
  const sites = workloadSites();
  const op = new Uint8Array(count);
  const site = new Uint16Array(count);
  const chain = new Uint8Array(count);
  const address = new Uint32Array(count);
  const size = new Uint32Array(count);
  const live = [];
  const freeAddresses = [];
  let nextAddress = 0xe1000000;
  for (let index = 0; index < count; index++) {
    // Free a live block about as often as allocate, while blocks are live.
    if (live.length > 64 && random() < 0.48) {
      const pick = Math.floor(random() * live.length);
      const block = live[pick];
      live[pick] = live[live.length - 1];
      live.pop();
      op[index] = 2;
      site[index] = block.site;
      address[index] = block.address;
      freeAddresses.push(block.address);
      continue;
    }
    const s = Math.floor(random() * sites.length);
    const a = freeAddresses.length > 0 && random() < 0.7 ? freeAddresses.pop() : (nextAddress += 0x400);
    op[index] = 1;
    site[index] = s;
    chain[index] = Math.floor(random() * sites[s].alloc.length);
    address[index] = a;
    size[index] = sites[s].size;
    // A leaked block is never freed: it stays out of the live list the frees draw from.
    if (random() >= sites[s].leak) live.push({ site: s, address: a });
  }
  return { sites, op, site, chain, address, size };
}

// One stacks.jsonl line as pool.collect-stacks writes it.
function stackLine(stacks, index) {
  const s = stacks.sites[stacks.site[index]];
  const alloc = stacks.op[index] === 1;
  const line = { seq: index + 1, hit: index + 1, atMs: index * 3, tag: s.tag.trim(), operation: alloc ? 'alloc' : 'free', site: alloc ? s.site : s.freeSite, frames: alloc ? s.alloc[stacks.chain[index]] : s.free };
  if (alloc) Object.assign(line, { size: stacks.size[index], address: stacks.address[index].toString(16) });
  else Object.assign(line, { address: stacks.address[index].toString(16), paired: true });
  return JSON.stringify(line);
}

/** Worker tasks (each run in a fresh process by runWorker). */
export const tasks = {
  // Write the stacks file the report path reads.
  async write({ path, count }) {
    const stacks = generateStacks(count);
    const out = createWriteStream(path);
    let bytes = 0;
    for (let index = 0; index < count; index++) {
      const text = `${stackLine(stacks, index)}\n`;
      bytes += text.length;
      if (!out.write(text)) await once(out, 'drain');
    }
    out.end();
    await once(out, 'finish');
    return { bytes };
  },
  // leakhunt report's path: stream, parse, normalise, aggregate, sum up with call trees.
  async report({ path }) {
    const { readStacksFile } = await import(new URL('../dist/src/report/stacks-file.js', import.meta.url));
    const baseRss = process.memoryUsage().rss;
    const wall = nowMs();
    const cpu = cpuMs();
    const summary = await readStacksFile(path);
    const ms = nowMs() - wall;
    return { ms, cpuMs: cpuMs() - cpu, baseRssMiB: baseRss / 2 ** 20, records: summary.records, sites: summary.sites.length, invalid: summary.invalid.length, topSite: summary.sites[0]?.site.text, outstanding: summary.sites.reduce((sum, s) => sum + s.outstanding, 0) };
  },
  // The collect-stacks plugin's path: the pairing book fed one classified record per stack.
  async collector({ count }) {
    const { PairingBook } = await import(new URL('../dist/src/evidence/pairing.js', import.meta.url));
    const stacks = generateStacks(count);
    // The plugin builds a record from each classified stack and reads the address as hex text:
    // both are made here before the clock starts, so only the aggregation is timed.
    const keyOf = (frame, frames) => {
      const [module, rest] = frame.split('!');
      const index = Math.max(0, frames.indexOf(frame));
      return { frames, site: { index, frame, module, function: rest.split('+')[0], offset: parseInt(rest.split('+0x')[1], 16) } };
    };
    const allocKeys = stacks.sites.map((s) => s.alloc.map((frames) => keyOf(s.site, frames)));
    const freeKeys = stacks.sites.map((s) => keyOf(s.freeSite, s.free));
    const addresses = Array.from(stacks.address, (value) => value.toString(16));
    const baseRss = process.memoryUsage().rss;
    const wall = nowMs();
    const cpu = cpuMs();
    const book = new PairingBook();
    for (let index = 0; index < count; index++) {
      const s = stacks.site[index];
      if (stacks.op[index] === 1) book.add({ kind: 'alloc', ...allocKeys[s][stacks.chain[index]], address: addresses[index], size: stacks.size[index], hit: index + 1 });
      else book.add({ kind: 'free', ...freeKeys[s], address: addresses[index], hit: index + 1 });
    }
    const sites = book.list({ endHit: count, spanMs: 60_000, hitsInSpan: count });
    const ms = nowMs() - wall;
    return { ms, cpuMs: cpuMs() - cpu, baseRssMiB: baseRss / 2 ** 20, sites: sites.length, outstanding: sites.reduce((sum, s) => sum + (s.kind === 'alloc' ? s.outstanding : 0), 0) };
  },
};

/** Run the benchmark: the file once, then `runs` fresh processes per path, alternating. */
export async function run({ runs, count = 1_000_000 }) {
  const dir = mkdtempSync(join(tmpdir(), 'leakhunt-bench-'));
  const path = join(dir, 'stacks.jsonl');
  try {
    const written = await runWorker(import.meta.url, 'write', { path, count });
    const report = [];
    const collector = [];
    for (let index = 0; index < runs; index++) {
      report.push(await runWorker(import.meta.url, 'report', { path }));
      collector.push(await runWorker(import.meta.url, 'collector', { count }));
    }
    const check = report[0];
    const note = `${check.records.toLocaleString('en-US')} records, ${check.sites} sites, ${check.outstanding.toLocaleString('en-US')} outstanding, ${(written.bytes / 2 ** 20).toFixed(0)} MB stacks.jsonl`;
    return [
      { id: 'aggregate.report.seconds', name: `report: readStacksFile of ${count.toLocaleString('en-US')} stacks (time)`, unit: 's', readme: 'Aggregating 1,000,000 stacks: report (stacks.jsonl → per-site tables), time', ...summarize(report.map((r) => r.ms / 1000)), goal: { op: '<', value: 5 }, detail: { cpuSeconds: summarize(report.map((r) => r.cpuMs / 1000)), note, invalid: check.invalid, topSite: check.topSite } },
      { id: 'aggregate.report.peakRss', name: 'report: readStacksFile peak RSS (whole process)', unit: 'MB', readme: 'Aggregating 1,000,000 stacks: report, peak RSS', ...summarize(report.map((r) => r.peakRssMiB)), goal: { op: '<', value: 400 }, detail: { nodeBaselineMiB: summarize(report.map((r) => r.baseRssMiB)) } },
      { id: 'aggregate.collector.seconds', name: `collector: pairing book of ${count.toLocaleString('en-US')} stacks (time)`, unit: 's', readme: 'Aggregating 1,000,000 stacks: collector (pairing book with leak rates), time', ...summarize(collector.map((r) => r.ms / 1000)), goal: { op: '<', value: 5 }, detail: { cpuSeconds: summarize(collector.map((r) => r.cpuMs / 1000)), sites: collector[0].sites, outstanding: collector[0].outstanding } },
      { id: 'aggregate.collector.peakRss', name: 'collector: pairing book peak RSS (whole process, stacks generated in it)', unit: 'MB', readme: 'Aggregating 1,000,000 stacks: collector, peak RSS', ...summarize(collector.map((r) => r.peakRssMiB)), goal: { op: '<', value: 400 } },
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Registry entry for bench/run.mjs. */
export default { id: 'aggregate', title: '4. Aggregation of 1,000,000 stacks', run };
