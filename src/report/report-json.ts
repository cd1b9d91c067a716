/**
 * Writes report.json a piece at a time, in exactly the bytes of `JSON.stringify(report, null, 2)`
 * and a line break, and gives back the report as a reader of the file will see it. An analyzed
 * log's report holds thousands of `!poolused` samples (tens of megabytes of JSON): written as one
 * string and read back to render, the file was in memory three times over beside the model.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import type { HuntReport } from './model.js';

// Does JSON.parse(JSON.stringify(value)) give back an equal value, with the same keys in the
// same order? Only plain data: finite numbers (not -0), strings, booleans, null, arrays without
// holes, plain objects without an undefined, function or symbol member and without toJSON.
function survivesJson(value: unknown): boolean {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return true;
    case 'number':
      return Number.isFinite(value) && !Object.is(value, -0);
    case 'object': {
      if (value === null) return true;
      if (Array.isArray(value)) {
        for (let i = 0; i < value.length; i++) if (!(i in value) || !survivesJson(value[i])) return false;
        return true;
      }
      const prototype = Object.getPrototypeOf(value);
      if ((prototype !== Object.prototype && prototype !== null) || 'toJSON' in value || Object.getOwnPropertySymbols(value).length > 0) return false;
      for (const member of Object.values(value)) if (!survivesJson(member)) return false;
      return true;
    }
    default:
      return false;
  }
}

// One value's JSON at a nesting depth (its lines indented to it), and the value as read back.
function piece(value: unknown, depth: number, inArray: boolean): { text: string | undefined; read: unknown } {
  const json = JSON.stringify(value, null, 2) as string | undefined;
  // An undefined, function or symbol is left out of an object and is null in an array.
  if (json === undefined) return inArray ? { text: 'null', read: null } : { text: undefined, read: undefined };
  return { text: json.replace(/\n/g, `\n${'  '.repeat(depth)}`), read: survivesJson(value) ? value : JSON.parse(json) };
}

/**
 * Write `report` to `path` as `JSON.stringify(report, null, 2)` and a line break would, each of
 * its top-level arrays an element at a time. Returns the report as JSON.parse of the file gives
 * it: the same objects where they are plain data, a copy read back where they are not (an
 * Infinity, an undefined member).
 */
export function writeReportJson(path: string, report: HuntReport): HuntReport {
  const fd = openSync(path, 'w');
  let batch = '';
  const write = (text: string) => {
    batch += text;
    if (batch.length >= 1 << 16) flush();
  };
  const flush = () => {
    if (batch) writeSync(fd, batch);
    batch = '';
  };
  const read: Record<string, unknown> = {};
  try {
    let members = 0;
    for (const [key, value] of Object.entries(report)) {
      const prefix = `${members === 0 ? '{\n' : ',\n'}  ${JSON.stringify(key)}: `;
      if (Array.isArray(value) && value.length > 0) {
        const elements: unknown[] = [];
        for (let i = 0; i < value.length; i++) {
          const { text, read: back } = piece(value[i], 2, true);
          write(`${i === 0 ? `${prefix}[\n    ` : ',\n    '}${text}`);
          elements.push(back);
        }
        write('\n  ]');
        read[key] = elements;
        members++;
        continue;
      }
      const { text, read: back } = piece(value, 1, false);
      if (text === undefined) continue;
      write(`${prefix}${text}`);
      read[key] = back;
      members++;
    }
    write(members === 0 ? '{}\n' : '\n}\n');
    flush();
  } finally {
    closeSync(fd);
  }
  return read as unknown as HuntReport;
}
