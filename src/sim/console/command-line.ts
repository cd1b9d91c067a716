/**
 * How kd splits a command line: `;` separates commands except inside quotes (`"…"` or `'…'`),
 * and `j` takes the rest of the line (kd: "You cannot add a semicolon or additional commands
 * after the j command"). Also the argument syntax of `j` and of `sx{e|d|i|n} -c "…" event`.
 */
import { readQuoted } from './breakpoints.js';

/** Split a command line into commands at unquoted semicolons; a `j` command keeps the rest of the line. */
export function splitCommands(line: string): string[] {
  const commands: string[] = [];
  let start = 0;
  let quote: string | undefined;
  for (let index = 0; index <= line.length; index++) {
    const char = line[index];
    if (index === start || line.slice(start, index).trim() === '') {
      if (/^\s*j(?=[\s(@$'0-9-])/i.test(line.slice(start))) {
        commands.push(line.slice(start).trim());
        return commands.filter((command) => command.length > 0);
      }
    }
    if (index === line.length) {
      commands.push(line.slice(start).trim());
      break;
    }
    if (quote) {
      // `\"` inside a command string does not end it (kd's bs/sx documentation: C escapes).
      if (char === '\\' && quote === '"' && line[index + 1] === '"') index++;
      else if (char === quote) quote = undefined;
      continue;
    }
    if (char === '"' || char === "'") {
      quote = char;
      continue;
    }
    if (char === ';') {
      commands.push(line.slice(start, index).trim());
      start = index + 1;
    }
  }
  return commands.filter((command) => command.length > 0);
}

/** One branch of a `j` command: a quoted or bare command string, and where it ended. */
interface Branch {
  commands: string;
  end: number;
}

// Read a branch at `start`: `'…'` (quotes removed) or bare text up to the next `;`.
function readBranch(text: string, start: number, bareToEnd: boolean): Branch {
  let index = start;
  while (index < text.length && /\s/.test(text[index])) index++;
  if (text[index] === "'") {
    const close = text.indexOf("'", index + 1);
    const end = close < 0 ? text.length : close;
    return { commands: text.slice(index + 1, end), end: close < 0 ? text.length : close + 1 };
  }
  if (bareToEnd) return { commands: text.slice(index).trim(), end: text.length };
  const semicolon = text.indexOf(';', index);
  const end = semicolon < 0 ? text.length : semicolon;
  return { commands: text.slice(index, end).trim(), end };
}

/** The two branches of `j Expression Command1 ; Command2`, given the text after the expression. */
export function splitJBranches(text: string): { whenTrue: string; whenFalse: string } {
  const first = readBranch(text, 0, false);
  let index = first.end;
  while (index < text.length && /\s/.test(text[index])) index++;
  if (text[index] !== ';') return { whenTrue: first.commands, whenFalse: '' };
  const second = readBranch(text, index + 1, false);
  return { whenTrue: first.commands, whenFalse: second.commands };
}

/** How kd handles an event after `sxe`/`sxd`/`sxn`/`sxi`. */
export type EventBreakStatus = 'break' | 'second-chance' | 'output' | 'ignore';

/** A parsed `sx{e|d|n|i|-} [-c "Cmd1"] [-c2 "Cmd2"] [-h] Event` command. */
export interface SxCommand {
  /** Undefined for `sx-` (commands change, break status stays). */
  status?: EventBreakStatus;
  command?: string;
  command2?: string;
  handling: boolean;
  event: string;
}

/** Parse the arguments of an `sx*` command; undefined when they do not follow kd's syntax. */
export function parseSxArguments(verb: string, args: string): SxCommand | undefined {
  const statuses: Record<string, EventBreakStatus | undefined> = {
    sxe: 'break', sxd: 'second-chance', sxn: 'output', sxi: 'ignore', 'sx-': undefined,
  };
  if (!(verb in statuses)) return undefined;
  const result: SxCommand = { status: statuses[verb], handling: false, event: '' };
  let rest = args.trim();
  while (rest.length > 0) {
    const option = /^-(c2|c|h)\s*/.exec(rest);
    if (!option) break;
    rest = rest.slice(option[0].length);
    if (option[1] === 'h') {
      result.handling = true;
      continue;
    }
    const quoted = readQuoted(rest, 0);
    if (!quoted) return undefined;
    if (option[1] === 'c') result.command = quoted.value;
    else result.command2 = quoted.value;
    rest = rest.slice(quoted.end).trim();
  }
  if (!/^[A-Za-z0-9*:.]+$/.test(rest)) return undefined;
  result.event = rest.toLowerCase();
  return result;
}

/** Split a command into its name and argument text (`kb 20` → `kb`, `20`; `!poolused 4` → `!poolused`, `4`). */
export function splitVerb(command: string): { verb: string; args: string } {
  const trimmed = command.trim();
  const match = /^(![A-Za-z0-9_.]+|\.[A-Za-z0-9_]+|\?|sx[-edinr]?|[A-Za-z]+)(.*)$/s.exec(trimmed);
  if (!match) return { verb: trimmed, args: '' };
  return { verb: match[1], args: match[2].trim() };
}
