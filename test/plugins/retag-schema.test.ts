// pool.retag-sites' `sites` schema: exactly what pool.collect-stacks outputs (the pairing book's
// sites), with a hex-only return address, the only member that reaches a kd command.
import { describe, expect, test } from 'vitest';
import type { NamedFrame } from '../../src/evidence/classify.js';
import { PairingBook } from '../../src/evidence/pairing.js';
import { retagX64, retagX86 } from '../../plugins/pool/retag-sites.js';
import { withErrors } from './harness.js';

// A frame as the classification names it.
const named = (frame: string, index: number, returnAddress?: string): NamedFrame => {
  const [module, rest] = frame.split('!') as [string, string];
  return { index, frame, module, function: rest.split('+')[0]!, offset: parseInt(rest.split('+0x')[1]!, 16), ...(returnAddress && { returnAddress }) };
};

// Sites as collect-stacks builds them: an allocation site with two calling paths in its module, a
// free site paired with it, a shared library's site called from two drivers, a caller chain.
function collectedSites(): unknown[] {
  const book = new PairingBook();
  const frames = ['nt!ExAllocatePoolWithTag+0x5d', 'abcflt!AbcAllocateContext+0x2a', 'abcflt!AbcCreate+0x55', "abcflt!`anonymous namespace'::Dispatch+0x10", 'nt!IofCallDriver+0x59'];
  const alloc = { kind: 'alloc' as const, frames, site: named(frames[1]!, 1, 'fffff80122a4f0b1'), caller: named(frames[2]!, 2), api: 'ExAllocatePoolWithTag' };
  const free = { kind: 'free' as const, frames: ['nt!ExFreePoolWithTag+0x9', 'abcflt!AbcFreeContext+0x12'], site: named('abcflt!AbcFreeContext+0x12', 1, 'fffff80122a4f2c4'), api: 'ExFreePoolWithTag' };
  book.add({ ...alloc, address: 'ffffa00012340000', size: 0x40, hit: 1 });
  book.add({ ...alloc, address: 'ffffa00012350000', size: 0x40, hit: 2 });
  book.add({ ...free, address: 'ffffa00012340000', hit: 3 });
  // A shared library: one site, called from two drivers.
  for (const driver of ['drva!DaSend+0x10', 'drvb!DbRead+0x20']) {
    const lib = ['nt!ExAllocatePoolWithTag+0x5d', 'vlib!VlAlloc+0x1e', 'vlib!VlBuffer+0x12', driver];
    book.add({ kind: 'alloc', frames: lib, site: named(lib[1]!, 1, 'fffff80122b00010'), caller: named(lib[2]!, 2), outside: named(driver, 3), address: `b${driver.length}`, size: 16, hit: 4 });
  }
  // A stack that kd printed without a return address (an x86 frame-pointer-omitted call).
  book.add({ kind: 'alloc', frames: ['nt!ExAllocatePoolWithTag+0x5d', 'nt!IopAllocateIrp+0x10'], site: { index: 1, frame: 'nt!IopAllocateIrp+0x10', module: 'nt', function: 'IopAllocateIrp', offset: 0x10 } });
  return JSON.parse(JSON.stringify(book.list({ endHit: 5, spanMs: 1000, hitsInSpan: 5 }))) as unknown[];
}

const site = (override: Record<string, unknown>): Record<string, unknown> => ({ frame: 'drv!Alloc+0x10', module: 'drv', function: 'Alloc', offset: 16, kind: 'alloc', returnAddress: '804d1234', allocs: 1, frees: 0, outstanding: 1, outstandingBytes: 64, addressed: 0, callers: [], ...override });

describe('pool.retag-sites sites', () => {
  test.each([retagX86, retagX64])('accepts collect-stacks output as it is ($id)', (provider) => {
    const sites = collectedSites();
    expect(sites).toHaveLength(4);
    expect(sites.some((s) => (s as { callerPaths?: object }).callerPaths)).toBe(true);
    expect(sites.some((s) => (s as { shared?: boolean; paths?: object }).shared && (s as { paths?: object }).paths)).toBe(true);
    expect(sites.some((s) => (s as { freesOf?: object }).freesOf)).toBe(true);
    expect(sites.some((s) => (s as { freedBy?: object }).freedBy)).toBe(true);
    expect(withErrors(provider, { tag: 'Abc', sites })).toEqual([]);
  });

  test.each([
    ['a return address carrying a command', { returnAddress: '804d1234;.shell calc' }],
    ['a return address with 0x', { returnAddress: '0x804d1234' }],
    ['a return address with the backtick kd prints', { returnAddress: 'fffff801`22a4f0b1' }],
    ['a return address longer than 64 bits', { returnAddress: '1fffff80122a4f0b1' }],
    ['an upper-case return address', { returnAddress: '804D1234' }],
    ['a kind outside alloc and free', { kind: 'both' }],
    ['a module with a space', { module: 'drv x' }],
    ['a module with a semicolon', { module: 'drv;.kill' }],
    ['a negative offset', { offset: -1 }],
    ['a count that is text', { allocs: '1' }],
    ['an unknown member', { command: '.shell calc' }],
    ['an empty frame', { frame: '' }],
    ['a frame with a newline', { frame: 'drv!Alloc+0x10\n.shell calc' }],
    ['a function with an escape sequence', { function: '\u001b]0;title\u0007' }],
    ['a caller with a carriage return', { callers: ['drv!A+0x1\r'] }],
    ['a freesOf count that is text', { freesOf: { 'drv!Alloc+0x10': 'x' } }],
  ])('refuses %s', (_what, override) => {
    expect(withErrors(retagX64, { tag: 'Abc', sites: [site(override)] }).length).toBeGreaterThan(0);
    expect(withErrors(retagX64, { tag: 'Abc', sites: [site({})] })).toEqual([]);
  });

  test('refuses a site missing what the run reads (frame, module, offset, kind)', () => {
    for (const key of ['frame', 'module', 'offset', 'kind']) {
      const { [key]: _dropped, ...rest } = site({});
      expect(withErrors(retagX64, { tag: 'Abc', sites: [rest] }).join(), key).toContain(key);
    }
  });
});
