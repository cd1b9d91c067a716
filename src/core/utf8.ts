/**
 * Strict UTF-8 decoding of the files users hand us (playbooks, scenarios): a byte that is not
 * UTF-8 is reported at its position instead of being replaced by U+FFFD without a word.
 */

/** A decoded file: its text, and where the first invalid byte is when there is one. */
export interface DecodedText {
  /** The text; an invalid sequence is shown as U+FFFD (for code frames only). */
  text: string;
  /** The first invalid sequence: its offset in `text` and its first byte. */
  invalid?: { offset: number; byte: number };
}

// Index of the first byte that does not begin a well-formed UTF-8 sequence (RFC 3629), or -1.
function firstInvalidByte(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length) {
    const lead = bytes[i]!;
    if (lead < 0x80) {
      i += 1;
      continue;
    }
    const extra = lead >= 0xc2 && lead <= 0xdf ? 1 : lead >= 0xe0 && lead <= 0xef ? 2 : lead >= 0xf0 && lead <= 0xf4 ? 3 : 0;
    if (extra === 0) return i;
    // The second byte's range excludes overlong forms, surrogates and code points past U+10FFFF.
    const low = lead === 0xe0 ? 0xa0 : lead === 0xf0 ? 0x90 : 0x80;
    const high = lead === 0xed ? 0x9f : lead === 0xf4 ? 0x8f : 0xbf;
    const second = bytes[i + 1];
    if (second === undefined || second < low || second > high) return i;
    for (let k = 2; k <= extra; k++) {
      const next = bytes[i + k];
      if (next === undefined || next < 0x80 || next > 0xbf) return i;
    }
    i += extra + 1;
  }
  return -1;
}

/** Decode bytes as UTF-8 with a fatal decoder; on failure, say where the first invalid byte is. */
export function decodeUtf8(bytes: Uint8Array): DecodedText {
  try {
    return { text: new TextDecoder('utf-8', { fatal: true }).decode(bytes) };
  } catch {
    const index = firstInvalidByte(bytes);
    const text = new TextDecoder('utf-8').decode(bytes);
    if (index < 0) return { text }; // not reached: the fatal decoder and the scan agree
    const offset = new TextDecoder('utf-8').decode(bytes.subarray(0, index)).length;
    return { text, invalid: { offset, byte: bytes[index]! } };
  }
}

/** The message for an invalid byte: `byte 0xE9 is not UTF-8`. */
export function invalidUtf8Message(byte: number): string {
  return `The file is not UTF-8: byte 0x${byte.toString(16).toUpperCase().padStart(2, '0')} does not begin a valid UTF-8 sequence`;
}
