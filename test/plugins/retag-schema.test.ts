// pool.retag-sites' `sites` schema: exactly what pool.collect-stacks outputs (SiteBook tallies),
// with a hex-only return address, the only member that reaches a kd command.
import { describe, expect, test } from 'vitest';
import { SiteBook } from '../../plugins/pool/pairing.js';
import { retagX64, retagX86 } from '../../plugins/pool/retag-sites.js';
import { withErrors } from './harness.js';

// Sites as collect-stacks builds them: an allocation site, a free site paired with it, a caller chain.
function collectedSites(): unknown[] {
  const book = new SiteBook();
  const alloc = { frame: 'abcflt!AbcAllocateContext+0x2a', module: 'abcflt', function: 'AbcAllocateContext', offset: 0x2a, returnAddress: 'fffff80122a4f0b1', api: 'ExAllocatePoolWithTag', callers: ['abcflt!AbcCreate+0x55', "abcflt!`anonymous namespace'::Dispatch+0x10", 'nt!IofCallDriver+0x59'] };
  const free = { frame: 'abcflt!AbcFreeContext+0x12', module: 'abcflt', function: 'AbcFreeContext', offset: 0x12, returnAddress: 'fffff80122a4f2c4', api: 'ExFreePoolWithTag', callers: [] };
  book.allocation(alloc, 'ffffa00012340000', 0x40);
  book.allocation(alloc, 'ffffa00012350000', 0x40);
  book.free(free, 'ffffa00012340000');
  // A stack that kd printed without a return address (an x86 frame-pointer-omitted call).
  book.allocation({ frame: 'nt!IopAllocateIrp+0x10', module: 'nt', offset: 0x10, callers: [] });
  return JSON.parse(JSON.stringify(book.list())) as unknown[];
}

const site = (override: Record<string, unknown>) => ({ frame: 'drv!Alloc+0x10', module: 'drv', function: 'Alloc', offset: 16, kind: 'alloc', returnAddress: '804d1234', allocs: 1, frees: 0, outstanding: 1, outstandingBytes: 64, addressed: 0, callers: [], ...override });

describe('pool.retag-sites sites', () => {
  test.each([retagX86, retagX64])('accepts collect-stacks output as it is ($id)', (provider) => {
    const sites = collectedSites();
    expect(sites).toHaveLength(3);
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
