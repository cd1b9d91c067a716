/**
 * `db`, `dd`, `dq` display lines as kd prints them: the address (backtick-split on x64), two
 * spaces, the values, and for `db` the byte columns joined by `-` in the middle and an ASCII
 * column (db-winxp-x86-1.txt, dd-win7-x86-1.txt, dd-win10-x64-1.txt, dq-win10-x64-1.txt).
 * Unreadable memory shows as `??`/`????????`.
 */
import { formatAddress } from '../../kd/common.js';

/** Reads target memory; undefined where nothing is mapped. */
export type MemoryReader = (address: bigint, length: number) => Uint8Array | undefined;

/** Display unit of a `d*` command. */
export type DisplayUnit = 'b' | 'd' | 'q';

/** Bytes per element and default element count of each unit (kd: 0x80 bytes by default). */
export const UNIT_SIZE: Record<DisplayUnit, number> = { b: 1, d: 4, q: 8 };

// Read one byte at a time so a partly mapped range shows `??` only where unmapped.
function readByte(read: MemoryReader, address: bigint): number | undefined {
  const bytes = read(address, 1);
  return bytes ? bytes[0] : undefined;
}

/** Format `count` elements of `unit` starting at `address`, 16 bytes per line. */
export function formatMemory(read: MemoryReader, address: bigint, count: number, unit: DisplayUnit, pointerSize: 4 | 8): string[] {
  const size = UNIT_SIZE[unit];
  const perLine = 16 / size;
  const lines: string[] = [];
  for (let first = 0; first < count; first += perLine) {
    const lineAddress = address + BigInt(first * size);
    const elements = Math.min(perLine, count - first);
    const values: (number | undefined)[] = [];
    for (let offset = 0; offset < elements * size; offset++) values.push(readByte(read, lineAddress + BigInt(offset)));
    lines.push(`${formatAddress(lineAddress, pointerSize)}  ${formatLine(values, unit)}`);
  }
  return lines;
}

// One line's values: bytes with a `-` after the 8th and a padded ASCII column, or dwords/qwords.
function formatLine(values: (number | undefined)[], unit: DisplayUnit): string {
  if (unit === 'b') {
    let hex = '';
    values.forEach((value, index) => {
      if (index > 0) hex += index === 8 ? '-' : ' ';
      hex += value === undefined ? '??' : value.toString(16).padStart(2, '0');
    });
    // kd pads a short last line to the full 16-byte width before the ASCII column.
    const ascii = values
      .map((value) => (value === undefined ? '?' : value >= 0x20 && value < 0x7f ? String.fromCharCode(value) : '.'))
      .join('');
    return `${hex.padEnd(47, ' ')}  ${ascii}`;
  }
  const size = UNIT_SIZE[unit];
  const words: string[] = [];
  for (let offset = 0; offset < values.length; offset += size) {
    const chunk = values.slice(offset, offset + size);
    if (chunk.some((value) => value === undefined)) {
      words.push(unit === 'q' ? '????????`????????' : '????????');
      continue;
    }
    let value = 0n;
    for (let index = chunk.length - 1; index >= 0; index--) value = (value << 8n) | BigInt(chunk[index] as number);
    const hex = value.toString(16).padStart(size * 2, '0');
    words.push(unit === 'q' ? `${hex.slice(0, 8)}\`${hex.slice(8)}` : hex);
  }
  return words.join(' ');
}
