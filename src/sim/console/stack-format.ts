/**
 * `k`, `kb`, `kn`, `kv` (and their combinations) in the layout of the profile's architecture
 * and kd generation:
 * - x86: `ChildEBP RetAddr  Args to Child` (kb-win2000xp-x86-1.txt, poolhittag-win7-x86-1.txt),
 *   `ChildEBP RetAddr  ` for `k` (k-win7-x86-1.txt), frame numbers only with `n`.
 * - x64, current kd: ` # Child-SP          RetAddr               Call Site` (k-win10x-x64-1.txt,
 *   kn-win10-x64-1.txt) and ` # RetAddr               : Args to Child … : Call Site` for kb
 *   (kb-win10x-x64-1.txt); frames are always numbered.
 * - x64, kd 6.x: the narrower `RetAddr           ` columns of kc-win7-x64-1.txt.
 */
import { formatAddress } from '../../kd/common.js';
import type { SimFrame } from '../kernel-api.js';
import type { SimProfile } from '../profiles.js';
import { debuggerGeneration } from './profile-text.js';

/** Which columns a `k` variant shows. */
export interface StackOptions {
  args: boolean;
  numbers: boolean;
  verbose: boolean;
  count: number;
}

/** `module!function+0xoff`, `module!function` at offset 0, `module+0xoff` without symbols. */
export function frameSymbol(frame: Pick<SimFrame, 'module' | 'function' | 'offset'>): string {
  const offset = frame.offset > 0 ? `+0x${frame.offset.toString(16)}` : '';
  return frame.function ? `${frame.module}!${frame.function}${offset}` : `${frame.module}${offset}`;
}

/** Parse the letters after `k` (`b`, `n`, `v`, `bn`, `vn`…); undefined when kd would not accept them. */
export function parseStackVerb(verb: string): Omit<StackOptions, 'count'> | undefined {
  const match = /^k([bpv]?)(n?)(L?)$/i.exec(verb);
  if (!match) return undefined;
  const kind = match[1].toLowerCase();
  return { args: kind === 'b' || kind === 'v', verbose: kind === 'v', numbers: match[2].length > 0 };
}

/** The stack lines (header first) for the frames, innermost first. */
export function formatStack(profile: SimProfile, frames: readonly SimFrame[], options: StackOptions): string[] {
  const shown = frames.slice(0, Math.max(0, options.count));
  return profile.arch === 'x86' ? formatX86(profile, frames, shown, options) : formatX64(profile, frames, shown, options);
}

// The return address of frame `index`: the address in its caller, 0 for the last frame.
function returnAddress(frames: readonly SimFrame[], index: number): bigint {
  return index + 1 < frames.length ? frames[index + 1].address : 0n;
}

// x86 layout: ChildEBP, RetAddr, three args, symbol.
function formatX86(profile: SimProfile, frames: readonly SimFrame[], shown: readonly SimFrame[], options: StackOptions): string[] {
  const address = (value: bigint) => formatAddress(value, 4);
  const header = options.args ? 'ChildEBP RetAddr  Args to Child' : 'ChildEBP RetAddr  ';
  const lines = [options.numbers ? ` # ${header}` : header];
  shown.forEach((frame, index) => {
    const number = options.numbers ? `${index.toString(16).padStart(2, '0')} ` : '';
    const columns = [address(frame.stackPointer), address(returnAddress(frames, index))];
    if (options.args) for (let arg = 0; arg < 3; arg++) columns.push(address(frame.args[arg] ?? 0n));
    const fpo = options.verbose && frame.module !== 'nt' && frame.module !== 'hal' ? ' (FPO: [Non-Fpo])' : '';
    lines.push(`${number}${columns.join(' ')} ${frameSymbol(frame)}${fpo}`);
  });
  void profile;
  return lines;
}

// x64 layout: numbered frames; Child-SP unless kb; args as four home-space qwords.
function formatX64(profile: SimProfile, frames: readonly SimFrame[], shown: readonly SimFrame[], options: StackOptions): string[] {
  const modern = debuggerGeneration(profile) === 'modern';
  const address = (value: bigint) => formatAddress(value, 8);
  const retHeader = modern ? 'RetAddr               ' : 'RetAddr           ';
  const retPad = modern ? '     ' : ' ';
  const showChildSp = !options.args || options.verbose;
  const argsHeader = 'Args to Child                                                           ';
  let header = ' # ';
  if (showChildSp) header += 'Child-SP          ';
  header += options.args ? `${retHeader}: ${argsHeader}: Call Site` : `${retHeader}Call Site`;
  const lines = [header];
  shown.forEach((frame, index) => {
    let line = `${index.toString(16).padStart(2, '0')} `;
    if (showChildSp) line += `${address(frame.stackPointer)} `;
    line += `${address(returnAddress(frames, index))}${retPad}`;
    if (options.args) {
      const args = [0, 1, 2, 3].map((arg) => address(frame.args[arg] ?? 0n));
      line += `: ${args.join(' ')} : `;
    }
    lines.push(`${line}${frameSymbol(frame)}`);
  });
  return lines;
}
