// The hold faults (hold-at:TEXT#N, hold-at-hit:N): the simulated target stops at a moment of the
// run until released, so the fault tests act at that moment whatever the host's speed.
import { describe, expect, test } from 'vitest';
import { KdConsole } from '../../src/sim/console/console.js';
import { FaultSpecError, holdsAtCommand, parseFault, type FaultSpec } from '../../src/sim/console/faults.js';
import { ConsoleRuntime } from '../../src/sim/console/runtime.js';
import { createStubKernel } from './stub-kernel.js';

describe('hold fault grammar', () => {
  test('hold-at:TEXT#N, N defaulting to 1; hold-at-hit:N', () => {
    expect(parseFault('hold-at:!poolused#2')).toEqual({ kind: 'hold-at', text: '!poolused', nth: 2 });
    expect(parseFault('hold-at:.reload')).toEqual({ kind: 'hold-at', text: '.reload', nth: 1 });
    expect(parseFault('hold-at:a#b')).toEqual({ kind: 'hold-at', text: 'a#b', nth: 1 });
    expect(parseFault('hold-at-hit:3')).toEqual({ kind: 'hold-at-hit', hits: 3 });
    expect(() => parseFault('hold-at:x#0')).toThrow(FaultSpecError);
    expect(() => parseFault('hold-at-hit:0')).toThrow(/1 or more/);
  });

  test('the N-th command containing the text is due, once', () => {
    const faults: FaultSpec[] = [parseFault('hold-at:poolused#2')];
    const seen = new Map<FaultSpec, number>();
    const due = ['vertarget', '!poolused 4', 'g', '!poolused 4', '!poolused 4'].map((line) => holdsAtCommand(faults, line, seen).length);
    expect(due).toEqual([0, 0, 0, 1, 0]);
  });
});

// A runtime over a stub XP kernel whose output is collected; `held` resolves at the hold.
function heldRuntime(spec: string) {
  let output = '';
  let onHold!: (where: string) => void;
  const held = new Promise<string>((resolve) => (onHold = resolve));
  const runtime = new ConsoleRuntime(new KdConsole(createStubKernel('winxp-sp3-x86')), {
    write: (text) => (output += text),
    timeScale: 10,
    sliceMs: 2,
    faults: [parseFault(spec)],
    onHold: (where) => onHold(where),
  });
  runtime.start();
  const until = async (pattern: RegExp) => {
    while (!pattern.test(output)) await new Promise((resolve) => setTimeout(resolve, 5));
  };
  return { runtime, held, output: () => output, until };
}

describe('hold at a command', () => {
  test('the held command is answered only after release()', async () => {
    const { runtime, held, output, until } = heldRuntime('hold-at:vertarget#2');
    await until(/kd> $/);
    runtime.input('vertarget\n');
    await until(/Kernel Version[\s\S]*kd> $/);
    const before = output();
    runtime.input('vertarget\n');
    expect(await held).toMatch(/^command 2 "vertarget"/);
    // Held: the command was read and not answered.
    expect(output()).toBe(before);
    runtime.release();
    await until(/Kernel Version[\s\S]*Kernel Version[\s\S]*kd> $/);
    runtime.stop();
  });

  test('Ctrl+C (interrupt) ends a hold as well', async () => {
    const { runtime, held, until } = heldRuntime('hold-at:vertarget');
    await until(/kd> $/);
    runtime.input('vertarget\n');
    await held;
    runtime.interrupt();
    await until(/Kernel Version[\s\S]*kd> $/);
    runtime.stop();
  });
});
