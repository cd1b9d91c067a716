// bp/bu/bc/bd/be/bl and `g Address` in the simulated console, on the real kernel model: kd's
// shapes (bl-*.txt, bphit-*.txt), and breakpoints at a site's return address hit on the way back
// from a PoolHitTag stop with the new block in the return register.
import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { parseBreak } from '../../src/kd/break.js';
import { parseStack } from '../../src/kd/stack.js';
import { splitCommands, parseSxArguments } from '../../src/sim/console/command-line.js';
import { KdConsole } from '../../src/sim/console/console.js';
import { createKernel } from '../../src/sim/kernel/index.js';
import { scenarioForProfile } from '../../src/sim/scenario.js';

// A console on a profile's default scenario with tagging on and PoolHitTag on 'Abc '.
function open(profile: string) {
  const scenario = scenarioForProfile(profile);
  scenario.registry.globalFlag |= 0x400;
  const kernel = createKernel(scenario);
  const console = new KdConsole(kernel);
  console.connect();
  const prompt = console.prompt();
  const run = (line: string): string => {
    const output = console.execute(line);
    return output.state === 'halted' ? output.text.slice(0, -prompt.length) : output.text;
  };
  const go = (line = 'g'): string => {
    let text = console.execute(line).text;
    for (let slice = 0; slice < 200 && console.currentState === 'running'; slice++) text += console.run(1000).text;
    expect(console.currentState).toBe('halted');
    return text.slice(0, -prompt.length);
  };
  run("ed nt!poolhittag ' cbA'");
  return { kernel, console, run, go };
}

// The first allocation stop: go until the stack's allocator frame returns into abcflt.
function toAllocation(session: ReturnType<typeof open>): { returnAddress: bigint; block: bigint } {
  for (let i = 0; i < 50; i++) {
    session.go();
    const stop = session.kernel.currentStop()!;
    if (stop.operation === 'alloc') {
      const site = stop.stack.findIndex((frame) => frame.module === 'abcflt');
      return { returnAddress: stop.stack[site]!.address, block: stop.allocation.address };
    }
  }
  throw new Error('no allocation stop');
}

describe('bl shape', () => {
  test.each(['bl-win7-x86-1.txt', 'bl-win10-x64-1.txt'])('a breakpoint line reads like %s', (file) => {
    const real = readFileSync(new URL(`../fixtures/kd/${file}`, import.meta.url), 'utf8').split('\n').find((line) => /^ ?\d+ e [0-9a-f`]+ {5}0001 \(0001\) \S/.test(line))!;
    const x64 = file.includes('x64');
    const session = open(x64 ? 'win10-22h2-x64' : 'win7-sp1-x86');
    const id = real.trim().split(' ')[0];
    session.run(`bp${id} nt!ExAllocatePoolWithTag`);
    const line = session.run('bl').trimEnd();
    const shape = (text: string) => text.trim().replace(/[0-9a-f]{8}(`[0-9a-f]{8})?/, 'ADDR').replace(/\S+$/, 'SYMBOL');
    expect(shape(line)).toBe(shape(real));
    expect(line).toMatch(new RegExp(`^ ${id} e `));
    expect(line.endsWith('nt!ExAllocatePoolWithTag')).toBe(true);
  });
});

describe('breakpoint commands', () => {
  test('bp prints nothing, bl lists ids, states and commands, bd/be toggle, bc clears by list, range and *', () => {
    const { run } = open('winxp-sp3-x86');
    expect(run('bp nt!ExAllocatePoolWithTag')).toBe('');
    expect(run('bp5 nt!ExFreePoolWithTag "r eax; g"')).toBe('');
    expect(run('bu nt!DbgBreakPoint')).toBe('');
    const listed = run('bl').split('\n').filter((line) => line !== '');
    expect(listed).toHaveLength(3);
    expect(listed[0]).toMatch(/^ 0 e [0-9a-f]{8} {5}0001 \(0001\) nt!ExAllocatePoolWithTag$/);
    expect(listed[1]).toMatch(/^ 1 e [0-9a-f]{8} {5}0001 \(0001\) nt!DbgBreakPoint$/);
    expect(listed[2]).toMatch(/^ 5 e [0-9a-f]{8} {5}0001 \(0001\) nt!ExFreePoolWithTag "r eax; g"$/);
    run('bd 0,5');
    expect(run('bl').split('\n').filter((line) => / d /.test(line)).map((line) => line.trim().split(' ')[0])).toEqual(['0', '5']);
    run('be 5');
    expect(run('bl 5')).toMatch(/^ 5 e /);
    run('bc 0-1');
    expect(run('bl').trim().split('\n')).toHaveLength(1);
    run('bc *');
    expect(run('bl')).toBe('');
  });

  test('a breakpoint where one already is redefines it; bad syntax gets kd\'s syntax error', () => {
    const { run } = open('winxp-sp3-x86');
    run('bp nt!ExAllocatePoolWithTag');
    expect(run('bu nt!ExAllocatePoolWithTag "kb"')).toBe('breakpoint 0 redefined\n');
    expect(run('bl').trim().split('\n')).toHaveLength(1);
    expect(run('bc x')).toMatch(/\^ Syntax error in 'bc x'/);
    expect(run('bp nt!NoSuchThing')).toMatch(/Couldn't resolve error at 'nt!NoSuchThing'/);
  });

  test('command strings keep \\" escapes: sxe -c "kb; sxe -c \\"\\" bpe" bpe', () => {
    expect(parseSxArguments('sxe', '-c "kb; sxe -c \\"\\" bpe" bpe')).toEqual({ status: 'break', command: 'kb; sxe -c "" bpe', handling: false, event: 'bpe' });
    expect(splitCommands('sxe -c "kb; bc 0; sxe -c \\"\\" bpe" bpe; g')).toEqual(['sxe -c "kb; bc 0; sxe -c \\"\\" bpe" bpe', 'g']);
  });
});

describe.each(['winxp-sp3-x86', 'win7-sp1-x64', 'win10-22h2-x64'])('breakpoints on the way back from a PoolHitTag stop (%s)', (profile) => {
  const x64 = profile.includes('x64');
  const register = x64 ? 'rax' : 'eax';

  test('Breakpoint N hit at the site return address stops with the location; the return register holds the block', () => {
    const session = open(profile);
    const { returnAddress, block } = toAllocation(session);
    session.run(`bp ${returnAddress.toString(16)}`);
    const text = session.go();
    expect(text).toMatch(/^Breakpoint 0 hit\nabcflt!AbcAllocateContext\+0x[0-9a-f]+:\n/);
    const stop = parseBreak(text, { command: 'g' }).events[0]!;
    expect(stop.breakpoint).toBe(0);
    expect(stop.location?.function).toBe('AbcAllocateContext');
    expect(BigInt(`0x${session.run(`r ${register}`).trim().split('=')[1]}`)).toBe(block);
  });

  test('a command string that ends with g prints its output and runs on to the next PoolHitTag stop', () => {
    const session = open(profile);
    session.run('sxe -c "kb" bpe');
    const { returnAddress, block } = toAllocation(session);
    session.run(`bp ${returnAddress.toString(16)} "r ${register}; g"`);
    const text = session.go();
    const events = parseBreak(text, { command: 'g' }).events;
    expect(events[0]!.breakpoint).toBe(0);
    expect(events[0]!.location).toBeUndefined();
    expect(BigInt(`0x${events[0]!.registers![register]}`)).toBe(block);
    expect(events[1]!.exception).toBe('Break instruction exception');
    expect(parseStack(text.slice(text.indexOf('Break instruction'))).frames.length).toBeGreaterThan(2);
  });

  test('g Address runs to it and shows the location only; a disabled breakpoint is not hit', () => {
    const session = open(profile);
    const { returnAddress, block } = toAllocation(session);
    session.run(`bp ${returnAddress.toString(16)}`);
    session.run('bd 0');
    const text = session.go(`g ${returnAddress.toString(16)}`);
    expect(text).toMatch(/^abcflt!AbcAllocateContext\+0x[0-9a-f]+:\n[0-9a-f`]+ /);
    expect(text).not.toMatch(/Breakpoint/);
    expect(BigInt(`0x${session.run(`r ${register}`).trim().split('=')[1]}`)).toBe(block);
    // The one-shot target is gone: the next go stops at PoolHitTag again.
    expect(session.go()).toMatch(/^Break instruction exception/);
  });
});
