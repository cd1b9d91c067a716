/**
 * The text kd prints when the target stops: the exception line, the Ctrl+C box of a manual
 * break-in (breakin-winxp-x86-1.txt), the `module!symbol+0x…:` location and the `int 3` line
 * (poolhittag-win7-x86-1.txt, windows-versions.md §3.3, gflag-win10-x64-1.txt), and the
 * idle-thread stack a break-in stops on.
 */
import { formatAddress } from '../../kd/common.js';
import type { SimFrame, SimKernel } from '../kernel-api.js';
import { frameSymbol } from './stack-format.js';

/** The first line of every stop at an `int 3`. */
export const BREAK_EXCEPTION_LINE = 'Break instruction exception - code 80000003 (first chance)';

/** The box kd prints after a Ctrl+C break-in. */
export const CTRL_C_BOX: readonly string[] = [
  '*******************************************************************************',
  '*                                                                             *',
  '*   You are seeing this message because you pressed either                    *',
  '*       CTRL+C (if you run console kernel debugger) or,                       *',
  '*       CTRL+BREAK (if you run GUI kernel debugger),                          *',
  "*   on your debugger machine's keyboard.                                      *",
  '*                                                                             *',
  '*                   THIS IS NOT A BUG OR A SYSTEM CRASH                       *',
  '*                                                                             *',
  '* If you did not intend to break into the debugger, press the "g" key, then   *',
  '* press the "Enter" key now.  This message might immediately reappear.  If it *',
  '* does, press "g" and "Enter" again.                                          *',
  '*                                                                             *',
  '*******************************************************************************',
];

/** `nt!ExAllocatePoolWithTag+0x881:` and `82b2f88c cc              int     3` for a frame at an int 3. */
export function int3LocationLines(frame: SimFrame, pointerSize: 4 | 8): string[] {
  return [`${frameSymbol(frame)}:`, `${formatAddress(frame.address, pointerSize)} cc              int     3`];
}

// The idle-thread frames under a break-in: (symbol, offset into it, fallback offset from nt's base).
const BREAKIN_FRAMES_X86: readonly [string, string, number, number][] = [
  ['nt', 'RtlpBreakWithStatusInstruction', 0, 0x2a3ec],
  ['nt', 'KeUpdateSystemTime', 0x165, 0x6b1a0],
  ['hal', 'HalpClockInterrupt', 0x1b2, 0x4f20],
  ['nt', 'KiIdleLoop', 0x10, 0x6c8e0],
];
const BREAKIN_FRAMES_X64: readonly [string, string, number, number][] = [
  ['nt', 'DbgBreakPointWithStatus', 0, 0x3f6c50],
  ['nt', 'KdCheckForDebugBreak', 0x13f2e, 0x2c1a10],
  ['nt', 'KeAccumulateTicks', 0x1c8e35, 0x21e3c0],
  ['nt', 'KeClockInterruptNotify', 0x469, 0x21d2a0],
  ['hal', 'HalpTimerClockInterrupt', 0x10e, 0x3e5b0],
  ['nt', 'KiCallInterruptServiceNoSpinlock', 0x13f, 0x1ae8d0],
  ['nt', 'KiIdleLoop', 0x5e, 0x3fa2b0],
];

/**
 * The stack of the idle thread a break-in interrupts (kd stops in the clock interrupt's
 * debug-break check). Addresses come from the kernel's symbols where it has them, else from
 * fixed offsets in nt; no public capture shows a break-in stack for every era.
 */
export function breakInStack(kernel: SimKernel): SimFrame[] {
  const profile = kernel.profile;
  const x64 = profile.pointerSize === 8;
  const table = x64 ? BREAKIN_FRAMES_X64 : BREAKIN_FRAMES_X86;
  const hal = kernel.modules().find((module) => module.name.toLowerCase() === 'hal');
  let stackPointer = x64 ? 0xfffff80122e5bb08n : 0x8054ac4cn;
  return table.map(([module, name, offset, fallback]) => {
    const base = kernel.resolveSymbol(`${module}!${name}`)
      ?? (module === 'hal' && hal ? hal.base + BigInt(fallback) : profile.kernelBase + BigInt(fallback));
    const frame: SimFrame = {
      module, function: name, offset, address: base + BigInt(offset), stackPointer,
      args: x64 ? [0n, 0n, 0n, 0n] : [0n, 0n, 0n],
    };
    stackPointer += x64 ? 0x40n : 0x10n;
    return frame;
  });
}
