/**
 * Version-aware provider selection: "first match by priority", deterministic, self-explaining.
 * Every candidate gets a reason; none or a tie at the top priority is an error.
 *
 * @see ../../docs/playbooks.md#how-a-provider-is-chosen
 */
import type { Facts, StepProvider } from './types.js';
import { errAmbiguousProvider, errNoProvider } from './errors.js';
import type { ErrorDetails, PlaybookError, SelectionCandidate, SelectionTrace } from './errors.js';
import { expandOsRange, versionMatches } from './versions.js';

/** A provider together with the plugin that contributed it. */
export interface ProviderEntry {
  plugin: string;
  provider: StepProvider<any>;
}

/** The outcome of selection: the winner or an error, and always the trace. */
export type Selection =
  | { ok: true; chosen: ProviderEntry; trace: SelectionTrace }
  | { ok: false; error: PlaybookError; trace: SelectionTrace };

// Why a provider does not apply to these facts, or undefined when it applies.
function rejection(entry: ProviderEntry, facts: Facts): string | undefined {
  const applies = entry.provider.appliesTo ?? {};
  if (applies.os !== undefined) {
    const range = expandOsRange(applies.os);
    if (!versionMatches(facts.os.version, applies.os)) {
      const shown = range === applies.os ? applies.os : `${applies.os} (${range})`;
      return `os ${facts.os.version} (${facts.os.alias}) is outside ${shown}`;
    }
  }
  if (applies.arch && !applies.arch.includes(facts.os.arch)) {
    return `arch ${facts.os.arch} is not one of ${applies.arch.join(', ')}`;
  }
  const kind = facts.target?.kind;
  if (applies.targetKinds && kind && kind !== 'plan' && !applies.targetKinds.includes(kind)) {
    return `target kind ${kind} is not one of ${applies.targetKinds.join(', ')}`;
  }
  return undefined;
}

/** Choose the one provider of `uses` that applies to the facts; returns the winner and why each other lost. */
export function selectProvider(uses: string, facts: Facts, providers: readonly ProviderEntry[], details: ErrorDetails = {}): Selection {
  const candidates: (SelectionCandidate & { entry: ProviderEntry })[] = providers
    .filter((entry) => entry.provider.uses === uses)
    .map((entry) => {
      const reason = rejection(entry, facts);
      return {
        entry,
        plugin: entry.plugin,
        provider: entry.provider.id,
        ...(entry.provider.appliesTo?.os !== undefined && { os: entry.provider.appliesTo.os }),
        ...(entry.provider.appliesTo?.arch && { arch: entry.provider.appliesTo.arch }),
        priority: entry.provider.priority ?? 0,
        accepted: reason === undefined,
        reason: reason ?? 'applies',
      };
    });
  const applicable = candidates.filter((c) => c.accepted);
  const top = Math.max(-Infinity, ...applicable.map((c) => c.priority));
  const winners = applicable.filter((c) => c.priority === top);
  for (const c of applicable) {
    if (c.priority < top) {
      c.accepted = false;
      c.reason = `applies, but outranked by ${winners.map((w) => `${w.plugin}/${w.provider}`).join(', ')} (priority ${top} > ${c.priority})`;
    }
  }
  if (winners.length === 1) winners[0]!.reason = `chosen (priority ${top}${applicable.length > 1 ? `, ${applicable.length - 1} other applicable` : ''})`;
  const trace: SelectionTrace = {
    uses,
    os: { version: facts.os.version, alias: facts.os.alias, arch: facts.os.arch },
    candidates: candidates.map(({ entry: _entry, ...rest }) => rest),
  };
  if (winners.length === 1) return { ok: true, chosen: winners[0]!.entry, trace };
  if (winners.length === 0) return { ok: false, error: errNoProvider(uses, trace, details), trace };
  for (const w of winners) w.reason = `applies, tied at priority ${top}`;
  trace.candidates = candidates.map(({ entry: _entry, ...rest }) => rest);
  return { ok: false, error: errAmbiguousProvider(uses, trace, details), trace };
}

/**
 * One sentence on why the chosen provider runs on this target, for reports: the version and
 * architecture it matched, its priority, and how many others were passed over and why.
 */
export function describeSelection(trace: SelectionTrace, plugin: string, provider: string): string {
  const chosen = trace.candidates.find((candidate) => candidate.plugin === plugin && candidate.provider === provider);
  const target = `Windows ${trace.os.version} (${trace.os.alias}) ${trace.os.arch}`;
  if (!chosen) return `chosen for ${target}`;
  const range = chosen.os === undefined ? 'the provider runs on any version' : `matches ${expandOsRange(chosen.os) === chosen.os ? chosen.os : `${chosen.os} (${expandOsRange(chosen.os)})`}`;
  const others = trace.candidates.filter((candidate) => candidate !== chosen);
  const rejected = others.filter((candidate) => !candidate.accepted).length;
  const outranked = others.length - rejected;
  const passed = [rejected > 0 && `${rejected} other${rejected === 1 ? '' : 's'} not for this target`, outranked > 0 && `${outranked} outranked`].filter(Boolean).join(', ');
  return `${target}: ${range}${chosen.arch ? ` on ${chosen.arch.join('/')}` : ''}; priority ${chosen.priority}${passed ? `; ${passed}` : ''}`;
}
