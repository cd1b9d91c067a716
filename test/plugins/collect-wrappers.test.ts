// pool.collect-stacks' `wrappers`: patterns are checked by the schema (when the playbook is
// validated, or once an input expression is resolved) and extend the default look-through list.
import { describe, expect, test } from 'vitest';
import { collectStacksClassic, collectStacksSegmentHeap } from '../../plugins/pool/collect-stacks.js';
import { withErrors } from './harness.js';

describe.each([collectStacksClassic, collectStacksSegmentHeap])('pool.collect-stacks wrappers ($id)', (provider) => {
  test.each([
    ['a list', ['vendorlib!*', 'mydrv!operator new', 'acmelib']],
    ['one comma-separated string (a playbook input)', 'vendorlib!*, acmelib!AcmAllocate*'],
    ['an empty string (the input left unset)', ''],
  ])('accepts %s', (_name, wrappers) => {
    expect(withErrors(provider, { tag: 'Abc', wrappers })).toEqual([]);
  });

  test.each([
    ['a module with a space', ['vendor lib!*']],
    ['no module', ['!VlAlloc']],
    ['nothing after the bang', ['vendorlib!']],
    ['a line break smuggled in', ['vendorlib!*\n.shell calc']],
    ['an empty entry in the string', 'vendorlib!*,,acmelib!*'],
    ['a space in a module of the string', 'ok!*, bad lib!x'],
  ])('refuses %s', (_name, wrappers) => {
    expect(withErrors(provider, { tag: 'Abc', wrappers })).not.toEqual([]);
  });
});
