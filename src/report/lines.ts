/**
 * Reading a large UTF-8 text file line by line without readline's per-line async iteration:
 * 1 MiB chunks, lines cut with `indexOf`. Line breaks are the ones readline counts with
 * `crlfDelay: Infinity` (`\n`, `\r\n`, a lone `\r`), so line numbers stay the same.
 */
import { isAscii } from 'node:buffer';
import { open } from 'node:fs/promises';
import { StringDecoder } from 'node:string_decoder';

const chunkBytes = 1 << 20;

/** Call `onLine` with each line of the file in order (no line break in it); a last line without a break counts when it is not empty. */
export async function forEachLine(path: string, onLine: (text: string) => void): Promise<void> {
  const file = await open(path, 'r');
  try {
    const buffer = Buffer.allocUnsafe(chunkBytes);
    // The decoder keeps a multi-byte character cut by the chunk's end for the next chunk. Until
    // the first byte above 0x7f it is not needed: ASCII decodes the same as Latin-1, only faster.
    const decoder = new StringDecoder('utf8');
    let ascii = true;
    let pending = '';
    for (;;) {
      const { bytesRead } = await file.read(buffer, 0, chunkBytes, null);
      if (bytesRead === 0) break;
      const bytes = buffer.subarray(0, bytesRead);
      ascii &&= isAscii(bytes);
      pending = emitLines(pending, ascii ? bytes.toString('latin1') : decoder.write(bytes), onLine);
    }
    const last = pending + decoder.end();
    if (last.length > 0) emitLine(last, onLine);
  } finally {
    await file.close();
  }
}

// Emit every line ended by a `\n` in `text` (the first one after `pending`, the unended rest of the
// chunk before); return what follows the last `\n`. Lines are cut from `text` itself, not from
// `pending + text`: cutting lines out of a joined string costs far more.
function emitLines(pending: string, text: string, onLine: (text: string) => void): string {
  let end = text.indexOf('\n');
  if (end === -1) return pending + text;
  const plain = text.indexOf('\r') === -1 && pending.indexOf('\r') === -1;
  const first = pending + text.slice(0, end);
  if (plain) onLine(first);
  else emitLine(first, onLine);
  let start = end + 1;
  for (end = text.indexOf('\n', start); end !== -1; end = text.indexOf('\n', start)) {
    if (plain) onLine(text.slice(start, end));
    else emitLine(text.slice(start, end), onLine);
    start = end + 1;
  }
  return text.slice(start);
}

// One piece between `\n`s: a `\r` just before the `\n` belongs to it, any other `\r` ends a line.
function emitLine(piece: string, onLine: (text: string) => void): void {
  if (piece.indexOf('\r') === -1) {
    onLine(piece);
    return;
  }
  const body = piece.endsWith('\r') ? piece.slice(0, -1) : piece;
  for (const line of body.split('\r')) onLine(line);
}
