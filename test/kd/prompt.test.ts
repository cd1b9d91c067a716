import { describe, expect, test } from 'vitest';
import { findTrailingPrompt, isKernelPrompt, matchPrompt } from '../../src/kd/prompt.js';

describe('matchPrompt', () => {
  test.each([
    ['kd> vertarget ', { prompt: 'kd> ', flavor: 'kd', command: 'vertarget' }],
    ['0: kd> dd nt!kd_DEFAULT_MASK ', { prompt: '0: kd> ', flavor: 'kd', processor: 0, command: 'dd nt!kd_DEFAULT_MASK' }],
    ['12: kd> g', { prompt: '12: kd> ', processor: 12, command: 'g' }],
    ['lkd> !gflag', { prompt: 'lkd> ', flavor: 'lkd', command: '!gflag' }],
    ['0: kd> ', { prompt: '0: kd> ', command: '' }],
    ['0:025> .sleep 10000', { flavor: 'user', processor: 0, command: '.sleep 10000' }],
    ['0: Kd> lm', { flavor: 'kd', command: 'lm' }],
  ])('%s', (line, expected) => {
    expect(matchPrompt(line)).toMatchObject(expected);
  });

  test.each(['123: kd> g', 'kd>> x', 'Sample!DriverEntry+0x2c:', '    // lkd> !gflag', 'akd> g'])('not a prompt: %s', (line) => {
    expect(matchPrompt(line)).toBeUndefined();
  });

  test('kernel prompts only', () => {
    expect(isKernelPrompt('1: kd> kvn')).toBe(true);
    expect(isKernelPrompt('0:000> version')).toBe(false);
  });
});

describe('findTrailingPrompt', () => {
  test('a prompt waiting at the end of the buffer', () => {
    expect(findTrailingPrompt('Breakpoint 0 hit\r\nnt!Foo:\r\n0: kd> ')).toMatchObject({ processor: 0, prompt: '0: kd> ' });
    expect(findTrailingPrompt('kd> ')).toMatchObject({ flavor: 'kd' });
  });

  test('no prompt while a line is still arriving or after a typed command', () => {
    expect(findTrailingPrompt('0: kd> g\n')).toBeUndefined();
    expect(findTrailingPrompt('0: kd> g')).toBeUndefined();
    expect(findTrailingPrompt('Loading Kernel Symbols\n....')).toBeUndefined();
    expect(findTrailingPrompt('0: k')).toBeUndefined();
  });
});
