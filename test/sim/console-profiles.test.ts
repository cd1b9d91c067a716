// Every profile: each command's simulator output parses with the parser that reads the real
// fixtures, the values match the kernel's state, and the era's shape (header lines, columns)
// is the one of the real transcript the simulator copies.
import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { stripTranscriptHeader } from '../../src/kd/auto.js';
import { parseBreak } from '../../src/kd/break.js';
import { findTagImmediate, parseDisasm } from '../../src/kd/disasm.js';
import { parseGflag } from '../../src/kd/global-flags.js';
import { parseLm } from '../../src/kd/lm.js';
import { parseDb } from '../../src/kd/memory.js';
import { parsePoolfind } from '../../src/kd/poolfind.js';
import { parsePoolused } from '../../src/kd/poolused.js';
import { parseReload } from '../../src/kd/reload.js';
import { parseStack } from '../../src/kd/stack.js';
import { parseBanner, parseVersionCommand, parseVertarget } from '../../src/kd/version.js';
import { KdConsole } from '../../src/sim/console/console.js';
import { debuggerGeneration } from '../../src/sim/console/profile-text.js';
import { frameSymbol } from '../../src/sim/console/stack-format.js';
import { createKernel } from '../../src/sim/kernel/index.js';
import { listProfiles, type SimProfile } from '../../src/sim/profiles.js';
import { scenarioForProfile } from '../../src/sim/scenario.js';

// A fixture's kd text without its source header.
function fixture(name: string): string[] {
  const text = stripTranscriptHeader(readFileSync(new URL(`../fixtures/kd/${name}`, import.meta.url), 'utf8'));
  return text.split(/\r?\n/);
}

// The first line of a fixture that matches, trimmed at the end.
function fixtureLine(name: string, pattern: RegExp): string {
  const line = fixture(name).find((candidate) => pattern.test(candidate));
  if (line === undefined) throw new Error(`no line ${pattern} in ${name}`);
  return line.trimEnd();
}

// Start a console on the profile's default leak with tagging on, connected and halted.
function open(profile: SimProfile) {
  const scenario = scenarioForProfile(profile.id);
  scenario.registry = { globalFlag: 0x400 };
  scenario.preloadMs = 10 * 60_000;
  const kernel = createKernel(scenario, { seed: 11 });
  const console = new KdConsole(kernel, { poolfindMsPer1000Blocks: 0 });
  const banner = console.connect().text;
  const run = (line: string) => {
    const output = console.execute(line);
    return output.state === 'halted' ? output.text.slice(0, -console.prompt().length) : output.text;
  };
  // Run after `g` until the next stop; the text kd printed up to the prompt.
  const go = () => {
    let text = run('g');
    for (let slice = 0; slice < 600 && console.currentState === 'running'; slice++) text += console.run(1000).text;
    expect(console.currentState).toBe('halted');
    return text.slice(0, -console.prompt().length);
  };
  return { scenario, kernel, console, banner, run, go };
}

// `ed` constant for a tag: the MASM string puts its first character in the top byte, so it is typed reversed.
function reversedTag(tag: string): string {
  return [...tag].reverse().join('');
}

describe.each(listProfiles().map((profile) => [profile.id, profile] as const))('%s', (_id, profile) => {
  const x64 = profile.pointerSize === 8;
  const modern = debuggerGeneration(profile) === 'modern';

  test('banner, vertarget, version, .reload and lm parse to the profile and the kernel', () => {
    const { kernel, banner, run } = open(profile);
    const connected = parseBanner(banner);
    // The parser takes the build from the build lab (19041 for 22H2, 22621 for 23H2), kd's label from `Kernel Version`.
    expect(connected.os).toMatchObject({ sp: profile.sp, arch: profile.arch, mp: profile.mp, buildLab: profile.buildLab });
    expect(banner).toContain(` Kernel Version ${profile.build}${profile.sp ? ` (Service Pack ${profile.sp})` : ''} ${profile.mp ? `MP (${profile.processors} procs)` : 'UP'} Free `);
    expect(connected.connected).toMatchObject({ build: profile.build, ptr64: x64 });
    expect(connected.connection).toMatchObject({ established: true, initialBreakpoint: true });
    const vertarget = parseVertarget(run('vertarget'));
    expect(vertarget.os).toMatchObject({ sp: profile.sp, pointerSize: profile.pointerSize, processors: profile.processors, buildLab: profile.buildLab });
    expect(vertarget.kernelBase).toBe(profile.kernelBase.toString(16));
    expect(vertarget.uptime).toBeCloseTo(kernel.now() / 1000, 2);
    const version = parseVersionCommand(run('version'));
    expect(version.os?.buildLab).toBe(profile.buildLab);
    expect(version.extensions?.map((extension) => extension.name)).toContain('kdexts');
    expect(parseReload(run('.reload')).complete).toBe(true);
    // `.reload` defers symbol loading; a use (`dd nt!…`) loads nt's, `.reload /f` loads them all.
    run('dd nt!PoolHitTag L1');
    expect(parseLm(run('lm')).modules.map((module) => [module.name, module.symbols])).toEqual(
      [...kernel.modules()].sort((a, b) => (a.base < b.base ? -1 : 1)).map((module) => [module.name, module.name === 'nt' ? 'pdb symbols' : 'deferred']),
    );
    expect(parseReload(run('.reload /f')).complete).toBe(true);
    const lm = parseLm(run('lm'));
    const modules = [...kernel.modules()].sort((a, b) => (a.base < b.base ? -1 : 1));
    expect(lm.modules.map((module) => [module.name, module.start, module.symbols])).toEqual(
      modules.map((module) => [module.name, module.base.toString(16).padStart(profile.pointerSize * 2, '0'), 'pdb symbols']),
    );
  });

  test('!poolused 4 and !poolused 1: the kernel counters, in the era layout', () => {
    const { kernel, run } = open(profile);
    const text = run('!poolused 4');
    const parsed = parsePoolused(text);
    expect(parsed.sortedBy).toBe('paged');
    const counters = kernel.tagCounters().filter((entry) => entry.paged.allocs + entry.nonpaged.allocs > 0);
    expect(parsed.rows).toHaveLength(counters.length);
    for (const row of parsed.rows) {
      const entry = counters.find((candidate) => candidate.tag === row.tag);
      expect(entry, row.tag).toBeDefined();
      expect(row.paged).toMatchObject({ allocs: entry!.paged.allocs - entry!.paged.frees, bytes: entry!.paged.bytes });
      expect(row.nonpaged).toMatchObject({ allocs: entry!.nonpaged.allocs - entry!.nonpaged.frees, bytes: entry!.nonpaged.bytes });
    }
    const paged = parsed.rows.map((row) => row.paged.bytes);
    expect(paged).toEqual([...paged].sort((a, b) => b - a));
    const lines = text.split('\n');
    if (profile.poolusedEra === 'old') {
      // windows-versions.md §4.1 legacy sample; the fixture's copy lost the leading spaces.
      expect(lines).toContain('  Pool Used:');
      expect(lines.find((line) => line.trim().startsWith('Tag'))?.trim()).toBe(fixtureLine('poolused-unknown-unknown-2.txt', /^Tag/).trim());
      expect(lines.find((line) => line.trim().startsWith('NonPaged'))?.trim()).toBe(fixtureLine('poolused-unknown-unknown-2.txt', /NonPaged/).trim());
      expect(text).not.toContain('\t');
      expect(parsed.total).toBeDefined();
    } else {
      expect(lines.find((line) => line.startsWith(' Tag'))).toBe(fixtureLine('poolused-win10x-x64-1.txt', /^ Tag/));
      expect(lines.find((line) => /^\s+NonPaged\s+Paged$/.test(line))).toBe(fixtureLine('poolused-win10x-x64-1.txt', /^\s+NonPaged\s+Paged$/));
      expect(lines.find((line) => line.includes('Sorting'))).toBe(' Sorting by Paged Pool Consumed');
      expect(lines.filter((line) => /^ \S{1,4}\s+\d/.test(line)).every((line) => line.includes('\t'))).toBe(true);
      const verbose = run('!poolused 1').split('\n');
      expect(verbose.find((line) => line.startsWith(' Tag'))).toBe(fixtureLine('poolused-win11-x64-1.txt', /^ Tag/));
    }
    const verbose = parsePoolused(run('!poolused 1'));
    const first = verbose.rows[0];
    const entry = counters.find((candidate) => candidate.tag === first.tag)!;
    expect(first.paged).toMatchObject({ allocs: entry.paged.allocs, frees: entry.paged.frees });
  });

  test('PoolHitTag set with ed, read with db; the break on alloc and on free shows the era allocator frames', () => {
    const { scenario, kernel, run, go } = open(profile);
    const site = scenario.modules[0].sites[0];
    expect(run(`ed nt!poolhittag '${reversedTag(site.tag)}'`)).toBe('');
    const db = parseDb(run('db nt!poolhittag L4'));
    expect(db.bytes).toEqual([...site.tag].map((char) => char.charCodeAt(0)));
    expect(kernel.poolHitTag()).toBe(Buffer.from(site.tag, 'latin1').readUInt32LE(0));

    const seen = new Set<string>();
    for (let stop = 0; stop < 40 && seen.size < 2; stop++) {
      const text = go();
      const current = kernel.currentStop();
      expect(current?.kind).toBe('pool-hit');
      const event = parseBreak(text, { command: 'g' }).events[0];
      expect(event).toMatchObject({ kind: 'breakpoint', code: '80000003', firstChance: true });
      expect(event.location?.symbol).toBe(frameSymbol(current!.stack[0]));
      expect(event.instruction?.address).toBe(current!.stack[0].address.toString(16).padStart(profile.pointerSize * 2, '0'));
      if (seen.has(current!.operation)) continue;
      seen.add(current!.operation);

      const kbText = run('kb');
      const stack = parseStack(kbText);
      // kd prints BBT chunks as `nt! ?? ::FNODOBFM::`string'+0x…`; the parser drops the blank after `!`.
      expect(stack.frames.map((frame) => [frame.module, frame.function, frame.offset ?? 0])).toEqual(
        current!.stack.map((frame) => [frame.module, frame.function?.trim(), frame.offset]),
      );
      stack.frames.forEach((frame, index) => {
        const next = current!.stack[index + 1];
        expect(frame.retAddr).toBe((next ? next.address : 0n).toString(16).padStart(profile.pointerSize * 2, '0'));
        expect(frame.args).toHaveLength(x64 ? 4 : 3);
      });
      const header = kbText.split('\n')[0];
      if (!x64) expect(header).toBe(fixtureLine('kb-win2000xp-x86-1.txt', /^ChildEBP/));
      else if (modern) expect(header).toBe(fixtureLine('kb-win10x-x64-1.txt', /^ # RetAddr/));
      else expect(header).toBe(fixtureLine('kc-win7-x64-1.txt', /^ # RetAddr/));
      const knText = run('kn');
      expect(parseStack(knText).frames.map((frame) => frame.index)).toEqual(current!.stack.map((_, index) => index));
      if (x64 && modern) expect(knText.split('\n')[0]).toBe(fixtureLine('kn-win10-x64-1.txt', /# Child-SP/));
      if (!x64) expect(knText.split('\n')[0].trimEnd()).toBe(fixtureLine('kp-win7-x86-1.txt', /# ChildEBP/));
      expect(parseStack(run('kv')).frames).toHaveLength(current!.stack.length);

      const names = current!.stack.map((frame) => frame.function ?? '');
      const expected = profile.allocator === 'segment-heap'
        ? (current!.operation === 'alloc' ? 'ExAllocateHeapPool' : 'ExFreeHeapPool')
        : (current!.operation === 'alloc' ? 'ExAllocatePoolWithTag' : /ExFreePool/);
      if (typeof expected === 'string') expect(names).toContain(expected);
      else expect(names.some((name) => expected.test(name))).toBe(true);
      if (profile.allocatePool2 && current!.operation === 'alloc') expect(names).toContain('ExAllocatePool2');
      const siteFunction = current!.operation === 'alloc' ? site.function : site.free?.function;
      expect(current!.stack.some((frame) => frame.module === site.module && frame.function === siteFunction)).toBe(true);
    }
    expect([...seen].sort()).toEqual(['alloc', 'free']);
  });

  test('u at the allocation site shows the tag immediate; !poolfind finds the outstanding blocks; !gflag reads NtGlobalFlag', () => {
    const { scenario, kernel, run } = open(profile);
    const site = scenario.modules[0].sites[0];
    const text = run(`u ${site.module}!${site.function} L10`);
    const found = findTagImmediate(parseDisasm(text).instructions, profile.arch, { site: 'alloc' });
    expect(found?.tag).toBe(site.tag);
    expect(text).toContain(x64 ? `mov     r8d,${found!.value.toString(16).toUpperCase()}h` : `push    ${found!.value.toString(16).toUpperCase()}h`);

    const command = profile.poolfindEra === 'new'
      ? `!poolfind -tag "${site.tag}" ${site.pool === 'paged' ? '-paged' : '-nonpaged'}`
      : `!poolfind ${site.tag.trimEnd()} ${site.pool === 'paged' ? 1 : 0}`;
    const poolfind = parsePoolfind(run(command));
    const header = BigInt(x64 ? 16 : 8);
    const outstanding = [...kernel.outstanding(site.tag)].filter((allocation) => allocation.pool === site.pool);
    expect(poolfind.hits.length).toBe(outstanding.length);
    const expected = new Set(outstanding.map((allocation) => (allocation.size >= 4096 ? allocation.address : allocation.address - header).toString(16).padStart(profile.pointerSize * 2, '0')));
    expect(poolfind.hits.every((hit) => expected.has(hit.address) && hit.tag === site.tag && hit.pool === site.pool)).toBe(true);
    expect(poolfind.searched.map((region) => region.region)).toEqual(['large-pool-table', site.pool]);

    const gflag = parseGflag(run('!gflag'));
    expect(gflag.value).toBe(kernel.ntGlobalFlag());
    expect(parseGflag(run('!gflag +ksl')).value).toBe((kernel.ntGlobalFlag() | 0) >>> 0);
    expect(kernel.ntGlobalFlag() & 0x40000).toBe(0x40000);
  });
});
