/**
 * The GlobalFlag bits with the abbreviations and descriptions kd's `!gflag` and gflags.exe
 * print (`    ptg - Enable pool tagging`), shared by the console and the host channel.
 * Display shapes: gflag-win10-x64-1.txt, gflag-win10x-x64-1.txt, gflags-unknown-na-*.txt.
 */

/** One global flag. */
export interface GlobalFlagBit {
  value: number;
  abbreviation: string;
  description: string;
}

/** Every documented GlobalFlag bit, lowest first. */
export const GLOBAL_FLAGS: readonly GlobalFlagBit[] = [
  { value: 0x1, abbreviation: 'soe', description: 'Stop on exception' },
  { value: 0x2, abbreviation: 'sls', description: 'Show loader snaps' },
  { value: 0x4, abbreviation: 'dic', description: 'Debug initial command' },
  { value: 0x8, abbreviation: 'shg', description: 'Stop on hung GUI' },
  { value: 0x10, abbreviation: 'htc', description: 'Enable heap tail checking' },
  { value: 0x20, abbreviation: 'hfc', description: 'Enable heap free checking' },
  { value: 0x40, abbreviation: 'hpc', description: 'Enable heap parameter checking' },
  { value: 0x80, abbreviation: 'hvc', description: 'Enable heap validation on call' },
  { value: 0x100, abbreviation: 'vrf', description: 'Enable application verifier' },
  { value: 0x400, abbreviation: 'ptg', description: 'Enable pool tagging' },
  { value: 0x800, abbreviation: 'htg', description: 'Enable heap tagging' },
  { value: 0x1000, abbreviation: 'ust', description: 'Create user mode stack trace database' },
  { value: 0x2000, abbreviation: 'kst', description: 'Create kernel mode stack trace database' },
  { value: 0x4000, abbreviation: 'otl', description: 'Maintain a list of objects for each type' },
  { value: 0x8000, abbreviation: 'htd', description: 'Enable heap tagging by DLL' },
  { value: 0x10000, abbreviation: 'dse', description: 'Disable stack extension' },
  { value: 0x20000, abbreviation: 'd32', description: 'Enable debugging of Win32 subsystem' },
  { value: 0x40000, abbreviation: 'ksl', description: 'Enable loading of kernel debugger symbols' },
  { value: 0x80000, abbreviation: 'dps', description: 'Disable paging of kernel stacks' },
  { value: 0x100000, abbreviation: 'scb', description: 'Enable system critical breaks' },
  { value: 0x200000, abbreviation: 'dhc', description: 'Disable heap coalesce on free' },
  { value: 0x400000, abbreviation: 'ece', description: 'Enable close exception' },
  { value: 0x800000, abbreviation: 'eel', description: 'Enable exception logging' },
  { value: 0x1000000, abbreviation: 'eot', description: 'Enable object handle type tagging' },
  { value: 0x2000000, abbreviation: 'hpa', description: 'Enable page heap' },
  { value: 0x4000000, abbreviation: 'dwl', description: 'Debug WinLogon' },
  { value: 0x8000000, abbreviation: 'ddp', description: 'Buffer DbgPrint output' },
  { value: 0x10000000, abbreviation: 'cse', description: 'Early critical section event creation' },
  { value: 0x20000000, abbreviation: 'ltd', description: 'Load DLLs top-down' },
  { value: 0x40000000, abbreviation: 'bhd', description: 'Enable bad handles detection' },
  { value: 0x80000000, abbreviation: 'dpd', description: 'Disable protected DLL verification' },
];

/** `    ptg - Enable pool tagging` lines for every bit set in `value`. */
export function flagLines(value: number): string[] {
  return GLOBAL_FLAGS.filter((flag) => (value & flag.value) >>> 0 !== 0).map(
    (flag) => `    ${flag.abbreviation} - ${flag.description}`,
  );
}

/** Eight lowercase hex digits, as both tools print the value. */
export function flagHex(value: number): string {
  return (value >>> 0).toString(16).padStart(8, '0');
}

/**
 * Apply a flag change argument: `+ptg`, `-ptg`, `+400`, `-E0`, or a bare hex value that
 * replaces the whole word. Undefined when the argument names no flag.
 */
export function applyFlagArgument(current: number, argument: string): number | undefined {
  const match = /^([+-]?)([A-Za-z0-9]+)$/.exec(argument.trim());
  if (!match) return undefined;
  const [, sign, body] = match;
  const named = GLOBAL_FLAGS.find((flag) => flag.abbreviation === body.toLowerCase());
  let bits: number;
  if (named) bits = named.value;
  else if (/^[0-9a-f]+$/i.test(body)) bits = Number.parseInt(body, 16) >>> 0;
  else return undefined;
  if (sign === '+') return (current | bits) >>> 0;
  if (sign === '-') return (current & ~bits) >>> 0;
  if (named) return undefined;
  return bits;
}
