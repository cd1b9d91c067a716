// pool.collect-stacks' `wrappers`: patterns are checked by the schema (when the playbook is
// validated, or once an input expression is resolved) and extend the default look-through list.
import { describe, expect, test } from 'vitest';
import { collectStacksClassic, collectStacksSegmentHeap } from '../../plugins/pool/collect-stacks.js';
import { retagX64 } from '../../plugins/pool/retag-sites.js';
import { withErrors } from './harness.js';

// retag-sites takes the same patterns for its unmasking collections.
describe.each([
  { provider: collectStacksClassic, base: { tag: 'Abc' } },
  { provider: collectStacksSegmentHeap, base: { tag: 'Abc' } },
  { provider: retagX64, base: { tag: 'Abc', sites: [] } },
])('$provider.uses wrappers ($provider.id)', ({ provider, base }) => {
  test.each([
    ['a list', ['vendorlib!*', 'mydrv!operator new', 'acmelib']],
    ['one comma-separated string (a playbook input)', 'vendorlib!*, acmelib!AcmAllocate*'],
    ['an empty string (the input left unset)', ''],
  ])('accepts %s', (_name, wrappers) => {
    expect(withErrors(provider, { ...base, wrappers })).toEqual([]);
  });

  test.each([
    ['a module with a space', ['vendor lib!*']],
    ['no module', ['!VlAlloc']],
    ['nothing after the bang', ['vendorlib!']],
    ['a line break smuggled in', ['vendorlib!*\n.shell calc']],
    ['a semicolon', ['vendorlib!*; .shell calc']],
    ['a quote', ['vendorlib!Vl"Alloc']],
    ['a line break in the string', 'vendorlib!*,\n.shell calc'],
    ['an empty entry in the string', 'vendorlib!*,,acmelib!*'],
    ['a space in a module of the string', 'ok!*, bad lib!x'],
  ])('refuses %s', (_name, wrappers) => {
    expect(withErrors(provider, { ...base, wrappers })).not.toEqual([]);
  });
});
