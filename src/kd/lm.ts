/**
 * Parse `lm` (and `lm m X`, `lm v m X`, `lmvm X`): loaded modules with their address range and
 * symbol state. Plugins use it to check that `nt` has real symbols before trusting `nt!…`.
 */
import { contentLines, KdParseError, normalizeAddress, type ParseResultBase } from './common.js';
import { matchPrompt } from './prompt.js';

/** One loaded module. */
export interface LoadedModule {
  start: string;
  end: string;
  name: string;
  /** Symbol state as kd shows it: `pdb symbols`, `export symbols`, `no symbols`, `deferred`, `private pdb symbols`. */
  symbols?: string;
  /** The symbol or image file after the state (`e:\symbol\ntdll.pdb\…\ntdll.pdb`, `CLFS.SYS`). */
  symbolFile?: string;
  /** `lm v` details: `Image path`, `Timestamp`, `CheckSum`, … as printed. */
  details?: Record<string, string>;
}

/** Result of `lm`. */
export interface LmResult extends ParseResultBase {
  modules: LoadedModule[];
}

// `start  end  module name` header (32- and 64-bit spacing).
const HEADER = /^start\s+end\s+module name$/;
// DML link texts printed as plain text by console debuggers.
const DML_TEXT = /^(?:Browse full module list|Browse all global symbols {2}functions {2}data)$/;

// One module row: start, end, name, then an optional `(state)` and file.
function parseModuleRow(line: string): LoadedModule | undefined {
  const head = /^([0-9a-fA-F]{8}(?:`[0-9a-fA-F]{8})?) ([0-9a-fA-F]{8}(?:`[0-9a-fA-F]{8})?) +(\S+)(.*)$/.exec(line.trimEnd());
  if (!head) return undefined;
  const module: LoadedModule = { start: normalizeAddress(head[1]), end: normalizeAddress(head[2]), name: head[3] };
  const rest = head[4].trim();
  if (rest === '') return module;
  const state = /^(?:[A-Z] )?\(([^)]*)\)(.*)$/.exec(rest);
  if (!state) return undefined;
  module.symbols = state[1];
  const file = state[2].trim();
  if (file !== '') module.symbolFile = file;
  return module;
}

/** Parse `lm` output. Throws KdParseError when it lists no module. */
export function parseLm(text: string): LmResult {
  const result: LmResult = { complete: true, unparsed: [], modules: [] };
  let last: LoadedModule | undefined;
  for (const { line, trimmed } of contentLines(text)) {
    if (HEADER.test(trimmed) || DML_TEXT.test(trimmed)) continue;
    const prompt = matchPrompt(trimmed);
    if (prompt) {
      if (!/^lm/.test(prompt.command)) result.unparsed.push(line);
      last = undefined;
      continue;
    }
    if (trimmed === '...' || trimmed === '…') {
      result.complete = false;
      continue;
    }
    const row = parseModuleRow(trimmed);
    if (row) {
      // `lm m X` repeated in one log lists the same module again: keep one row per start address.
      const existing = result.modules.find((module) => module.start === row.start && module.name === row.name);
      last = existing ?? row;
      if (!existing) result.modules.push(row);
      continue;
    }
    const detail = /^([A-Z][A-Za-z ]+?):\s*(.*)$/.exec(trimmed);
    if (detail && last && /^\s/.test(line)) {
      last.details ??= {};
      last.details[detail[1]] = detail[2];
      continue;
    }
    result.unparsed.push(line);
  }
  if (result.modules.length === 0) throw new KdParseError('lm', 'No module rows found: expected "<start> <end>   <module>   (<symbols>)"');
  return result;
}
