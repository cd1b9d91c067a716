// Line shapes of the simulator's output against the real transcripts it copies: each hex digit
// becomes `h`, so columns, separators and widths must be the same while the values may differ.
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, test } from 'vitest';
import { stripTranscriptHeader } from '../../src/kd/auto.js';
import { parseDisasm } from '../../src/kd/disasm.js';
import { parseSymbols } from '../../src/kd/symbols.js';
import { KdConsole } from '../../src/sim/console/console.js';
import { createKernel } from '../../src/sim/kernel/index.js';
import type { SimKernel } from '../../src/sim/kernel-api.js';
import { scenarioForProfile } from '../../src/sim/scenario.js';

// The lines of a fixture without its source header.
function fixture(name: string): string[] {
  return stripTranscriptHeader(readFileSync(new URL(`../fixtures/kd/${name}`, import.meta.url), 'utf8')).split(/\r?\n/);
}

// A line's skeleton: hex digits as `h`, so only layout remains.
function skeleton(line: string): string {
  return line.replace(/[0-9a-f]/g, 'h');
}

interface Session {
  kernel: SimKernel;
  banner: string;
  run(line: string): string[];
}

// A console on a profile's default leak with tagging on, stopped at its first PoolHitTag break.
function session(profile: string): Session {
  const scenario = scenarioForProfile(profile);
  scenario.registry = { globalFlag: 0x400 };
  scenario.preloadMs = 5 * 60_000;
  const kernel = createKernel(scenario, { seed: 17 });
  const console = new KdConsole(kernel, { poolfindMsPer1000Blocks: 0 });
  const banner = console.connect().text;
  const run = (line: string) => {
    const output = console.execute(line);
    let text = output.text;
    for (let slice = 0; slice < 600 && console.currentState === 'running'; slice++) text += console.run(1000).text;
    return text.slice(0, -console.prompt().length).split('\n').slice(0, -1);
  };
  return { kernel, banner, run };
}

let xp: Session;
let win10: Session;
beforeAll(() => {
  xp = session('winxp-sp3-x86');
  win10 = session('win10-22h2-x64');
});

describe('memory display shapes', () => {
  test('db: x86 lines as db-winxp-x86-1.txt (hex with a dash after 8 bytes, ASCII at column 59); a short line is padded', () => {
    const real = fixture('db-winxp-x86-1.txt').filter((line) => /^[0-9a-f]{8}  /.test(line));
    const simulated = xp.run('db nt!PoolHitTag');
    expect(simulated).toHaveLength(real.length);
    simulated.forEach((line, index) => {
      expect(skeleton(line.slice(0, 59))).toBe(skeleton(real[index].slice(0, 59)));
      expect(line).toHaveLength(59 + 16);
    });
    const short = xp.run('db nt!poolhittag L4')[0];
    expect(skeleton(short.slice(0, 21))).toBe(skeleton(real[0].slice(0, 21)));
    expect(short.slice(21, 59).trim()).toBe('');
    expect(short.slice(59)).toBe('....');
  });

  test('dd and dq: dd-win7-x86-1.txt, dd-win10-x64-1.txt, dq-win10-x64-1.txt', () => {
    expect(xp.run('dd nt!PoolHitTag').map(skeleton)).toEqual(fixture('dd-win7-x86-1.txt').filter((line) => /^[0-9a-f]{8}  /.test(line)).map(skeleton));
    expect(win10.run('dd nt!PoolHitTag').map(skeleton)).toEqual(fixture('dd-win10-x64-1.txt').filter((line) => /^f{5}/.test(line)).map(skeleton));
    expect(win10.run('dq nt!PoolHitTag L2').map(skeleton)).toEqual([skeleton(fixture('dq-win10-x64-1.txt').find((line) => /^fffff800`9c1907d8  /.test(line))!)]);
  });
});

describe('stops and registers', () => {
  test('PoolHitTag break: exception line, location, int 3 line as in the Win7 x64 sample and step-win10-x64-1.txt', () => {
    const text = win10.run("ed nt!poolhittag ' cbA'; g");
    expect(text[0]).toBe('Break instruction exception - code 80000003 (first chance)');
    expect(text[1]).toMatch(/^nt!Ex(?:Allocate|Free)HeapPool\+0x[0-9a-f]+:$/);
    expect(skeleton(text[2])).toBe(skeleton(fixture('gflag-win10-x64-1.txt').find((line) => /^fffff803`7f3a70e5 cc/.test(line))!));
  });

  test('x64 r: the bphit-win7-x64-1.txt register block', () => {
    const real = fixture('bphit-win7-x64-1.txt');
    const from = real.findIndex((line) => line.startsWith('rax='));
    const simulated = win10.run('r');
    expect(simulated.slice(0, 8).map(skeleton)).toEqual(real.slice(from, from + 8).map((line) => skeleton(line.replace(/ng nz/, 'pl zr'))));
  });

  test('u: columns of step-win10-x64-1.txt (address, 16-column bytes, 7-column mnemonic)', () => {
    const real = fixture('step-win10-x64-1.txt').find((line) => line.startsWith('00000003`2b2f0012 '))!;
    const line = win10.run('u abcflt!AbcAllocateContext L4').find((candidate) => candidate.includes('mov     r8d,'))!;
    expect(skeleton(line.slice(0, 18))).toBe(skeleton(real.slice(0, 18)));
    expect(line.slice(17 + 1 + 16, 17 + 1 + 16 + 8)).toBe('mov     ');
    expect(real.slice(17 + 1 + 16, 17 + 1 + 16 + 8)).toBe('mov     ');
  });

  test('break-in box: the lines of breakin-winxp-x86-1.txt', () => {
    const real = fixture('breakin-winxp-x86-1.txt');
    const box = real.slice(real.findIndex((line) => line.startsWith('****')), real.lastIndexOf('*******************************************************************************') + 1);
    const lines = xp.banner.split('\n');
    const start = lines.findIndex((line) => line.startsWith('****'));
    expect(lines.slice(start, start + box.length)).toEqual(box);
    expect(lines[start - 1]).toBe(real[real.findIndex((line) => line.startsWith('****')) - 1]);
    expect(lines[start + box.length]).toBe('nt!RtlpBreakWithStatusInstruction:');
  });
});

describe('extension shapes', () => {
  test('!poolfind hits: columns of poolfind-unknown-x86-1.txt and poolfind-win10x-x64-1.txt', () => {
    const oldReal = fixture('poolfind-unknown-x86-1.txt').find((line) => line.startsWith('826fa130 '))!;
    const oldLine = xp.run('!poolfind Abc 1').find((line) => / size: +[0-9a-f]+ previous size:/.test(line))!;
    for (const marker of ['size:', 'previous size:', '(Allocated)']) expect(oldLine.indexOf(marker)).toBe(oldReal.indexOf(marker));
    const newReal = fixture('poolfind-win10x-x64-1.txt').find((line) => line.startsWith('ffffda000a9b6d30 '))!;
    const newLine = win10.run('!poolfind -tag "Abc " -paged').find((line) => line.includes(' : tag '))!;
    expect(skeleton(newLine.replace('tag Abc ,', 'tag amda,').replace('Paged pool', 'Nonpaged pool'))).toBe(skeleton(newReal));
  });

  test('!gflag +ptg: the New NtGlobalFlag form of gflag-win10-x64-1.txt', () => {
    const real = fixture('gflag-win10-x64-1.txt');
    const from = real.findIndex((line) => line.startsWith('New NtGlobalFlag contents:'));
    const before = win10.kernel.ntGlobalFlag();
    const simulated = win10.run('!gflag +ksl');
    expect(skeleton(simulated[0])).toBe(skeleton(real[from]));
    expect(simulated).toContain(real[from + 1]);
    expect(simulated[0]).toBe(`New NtGlobalFlag contents: 0x${((before | 0x40000) >>> 0).toString(16).padStart(8, '0')}`);
  });
});

describe('banners and version text', () => {
  test('connect and vertarget lines follow banner-win10-x64-1.txt and vertarget-winxp-x86-1.txt', () => {
    const real = fixture('banner-win10-x64-1.txt');
    const lines = win10.banner.split('\n');
    for (const fixed of ['Waiting to reconnect...', 'Kernel Debugger connection established.  (Initial Breakpoint requested)', 'Product: WinNt, suite: TerminalServer SingleUserTS', 'Machine Name:', 'Executable search path is: ']) {
      expect(real).toContain(fixed);
      expect(lines).toContain(fixed);
    }
    const connected = (line: string) => line.replace(/\b[A-Z][a-z]{2} [A-Z][a-z]{2}\b/, 'Day Mon').replace(/\d+/g, '9').replace(/\(UTC [+-] 9:9\)/, '(UTC)').replace(/ +/g, ' ');
    expect(connected(lines.find((line) => line.startsWith('Connected to Windows'))!)).toEqual(connected(real.find((line) => line.startsWith('Connected to Windows'))!));
    expect(skeleton(lines.find((line) => line.startsWith('Kernel base'))!)).toBe(skeleton(real.find((line) => line.startsWith('Kernel base'))!));
    const xpLines = xp.run('vertarget');
    const xpReal = fixture('vertarget-winxp-x86-1.txt');
    expect(skeleton(xpLines.find((line) => line.startsWith('Kernel base'))!)).toBe(skeleton(xpReal.find((line) => line.startsWith('Kernel base'))!));
    expect(xpLines[0]).toBe('Windows XP Kernel Version 2600 (Service Pack 3) UP Free x86 compatible');
    expect(xpReal[1]).toMatch(/^Windows XP Kernel Version \d+ UP Free x86 compatible$/);
  });

  test('.reboot prints the lines of gflag-win10-x64-1.txt in order', () => {
    const text = xp.run('.reboot');
    const real = fixture('gflag-win10-x64-1.txt');
    const pattern = (line: string) => line.replace(/\(([^()]|\([^()]*\))*\)/g, '(…)').replace(/\d+/g, '9').replace(/ +/g, ' ').replace(/Windows (XP|9) 9 x9( compatible)?/, 'Windows X');
    expect(pattern(text[0])).toBe(pattern(real[1]));
    expect(text[1]).toBe(real[2]);
    expect(pattern(text[2])).toEqual(pattern(real[3]).replace('ptr9 TRUE', 'ptr9 FALSE'));
    expect(text[3]).toBe('Kernel Debugger connection established.  (Initial Breakpoint requested)');
  });
});

describe('ub, uf and x: shapes of the real transcripts, read back by the parsers that read them', () => {
  test('ub: the 8 instructions that end where the address starts, the first labelled (ub-win10-x64-1.txt)', () => {
    const address = win10.kernel.resolveSymbol('nt!ExAllocatePoolWithTag')! + 0x40n;
    const lines = win10.run(`ub ${address.toString(16)}`);
    const real = fixture('ub-win10-x64-1.txt').filter((line) => line !== '' && !line.includes('kd>'));
    expect(lines).toHaveLength(real.length);
    expect(lines[0]).toMatch(/^nt!ExAllocatePoolWithTag\+0x[0-9a-f]+:$/);
    expect(skeleton(lines[1]!.slice(0, 18))).toBe(skeleton(real[1]!.slice(0, 18)));
    const result = parseDisasm(lines.join('\n'));
    expect(result.instructions).toHaveLength(8);
    expect(result.unparsed).toEqual([]);
    const last = result.instructions.at(-1)!;
    expect(BigInt(`0x${last.address}`) + BigInt(last.bytes.length / 2)).toBe(address);
    // An explicit length; and the same lines as u from the first address.
    const three = parseDisasm(win10.run(`ub ${address.toString(16)} L3`).join('\n')).instructions;
    expect(three.map((i) => i.address)).toEqual(result.instructions.slice(-3).map((i) => i.address));
    expect(win10.run(`u ${result.instructions[0]!.address} L8`)).toEqual(lines);
  });

  test('ub from a return address: the call that allocates, after the tag it passes (how a kd user checks a frame)', () => {
    for (const session of [xp, win10]) {
      const start = session.kernel.resolveSymbol('abcflt!AbcAllocateContext')!;
      const function_ = parseDisasm(session.run(`u ${start.toString(16)} L10`).join('\n')).instructions;
      const call = function_.find((i) => i.mnemonic === 'call')!;
      const returnAddress = BigInt(`0x${call.address}`) + BigInt(call.bytes.length / 2);
      const before = parseDisasm(session.run(`ub ${returnAddress.toString(16)}`).join('\n')).instructions;
      expect(before.at(-1)).toEqual(call);
      expect(before.some((i) => /^(push|mov)$/.test(i.mnemonic) && /20636241h/.test(i.operands))).toBe(true);
    }
  });

  test('uf: the function from its start to its ret, under its label (uf-win10-x64-1.txt), x86 and x64', () => {
    for (const session of [xp, win10]) {
      const start = session.kernel.resolveSymbol('abcflt!AbcAllocateContext')!;
      const lines = session.run(`uf ${(start + 0x10n).toString(16)}`);
      expect(lines[0]).toBe('abcflt!AbcAllocateContext:');
      const result = parseDisasm(lines.join('\n'));
      expect(result.unparsed).toEqual([]);
      expect(BigInt(`0x${result.instructions[0]!.address}`)).toBe(start);
      expect(result.instructions.at(-1)!.mnemonic).toBe('ret');
      expect(result.instructions.filter((i) => i.mnemonic === 'ret')).toHaveLength(1);
      // The allocation call site is in it, with its tag immediate.
      expect(result.instructions.some((i) => /^(push|mov)$/.test(i.mnemonic) && /20636241h/.test(i.operands))).toBe(true);
    }
  });

  test('x nt!Pool*: data symbols as x-win10-x64-1.txt, functions as x-win7-x64-1.txt; x86 padded as x-win10-x86-1.txt', () => {
    const realData = fixture('x-win10-x64-1.txt').find((line) => line.includes('nt!PoolBigPageTable '))!;
    const pool = win10.run('x nt!Pool*');
    expect(pool).toHaveLength(1);
    expect(pool[0]!.replace('PoolHitTag', 'PoolBigPageTable').replace(/[0-9a-f]/g, 'h')).toBe(skeleton(realData));
    const symbols = parseSymbols(pool.join('\n')).symbols;
    expect(symbols).toEqual([{ address: win10.kernel.resolveSymbol('nt!PoolHitTag')!.toString(16), module: 'nt', name: 'PoolHitTag', type: 'data', value: '<no type information>' }]);
    const realFunction = fixture('x-win7-x64-1.txt').find((line) => line.includes('MmCreateProcessAddressSpace'))!;
    const alloc = win10.run('x nt!ExAllocatePoolWith*');
    expect(alloc).toHaveLength(1);
    expect(skeleton(alloc[0]!.slice(0, 18))).toBe(skeleton(realFunction.slice(0, 18)));
    expect(alloc[0]!.endsWith('nt!ExAllocatePoolWithTag (<no parameter info>)')).toBe(true);
    const realX86 = fixture('x-win10-x86-1.txt').find((line) => line.startsWith('8b4c7490 '))!;
    const x86 = xp.run('X NT!poolhit*');
    expect(skeleton(x86[0]!.slice(0, 18))).toBe(skeleton(realX86.slice(0, 18)));
    expect(parseSymbols(x86.join('\n')).symbols[0]).toMatchObject({ module: 'nt', name: 'PoolHitTag', type: 'data' });
    // Nothing matches: nothing printed, as kd.
    expect(win10.run('x nt!NoSuchSymbol*')).toEqual([]);
  });
});
