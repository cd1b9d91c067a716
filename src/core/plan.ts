/**
 * Planning: for each step of a loaded playbook, the one provider that fits the target's facts,
 * with the trace of why every other candidate lost, and the step's static `with` checked
 * against the chosen provider's schema.
 *
 * @see ../../docs/playbooks.md#how-a-provider-is-chosen
 */
import { errInvalidWith } from './errors.js';
import type { PlaybookError, SelectionTrace } from './errors.js';
import type { Playbook, PlaybookStep } from './playbook.js';
import type { Registry } from './registry.js';
import { selectProvider } from './select.js';
import type { Facts, Plugin, StepProvider } from './types.js';
import { pointerToPath } from './locate.js';
import type { ValidateFunction } from './ajv.js';
import type { PlannedStepSummary } from './events.js';

/** A step with its chosen provider. */
export interface PlannedStep {
  step: PlaybookStep;
  plugin: string;
  provider: StepProvider<any>;
  trace: SelectionTrace;
}

/** A playbook resolved against one target's facts. */
export interface Plan {
  playbook: Playbook;
  facts: Facts;
  steps: PlannedStep[];
  always: PlannedStep[];
  /** The compiled `with` validator of a provider (from the registry's cache). */
  withValidator(provider: StepProvider<any>): ValidateFunction;
  /** The error codes a plugin declares; undefined when it declares none (or is not loaded). */
  errorsOf?(plugin: string): Plugin['errors'];
}

/** Plan a playbook for these facts; returns every selection problem at once. */
export function planPlaybook(playbook: Playbook, facts: Facts, registry: Registry): { plan?: Plan; errors: PlaybookError[]; traces: Map<string, SelectionTrace> } {
  const errors: PlaybookError[] = [];
  const traces = new Map<string, SelectionTrace>();
  const planSection = (steps: readonly PlaybookStep[]): PlannedStep[] => {
    const planned: PlannedStep[] = [];
    for (const step of steps) {
      const where = step.locateWith([]);
      const details = { location: step.location, ...(where.frame && { frame: where.frame }), step: step.id };
      const selection = selectProvider(step.uses, facts, registry.providersOf(step.uses), details);
      traces.set(step.id, selection.trace);
      if (!selection.ok) {
        errors.push(selection.error);
        continue;
      }
      const { plugin, provider } = selection.chosen;
      errors.push(...checkStaticWith(step, provider, registry));
      planned.push({ step, plugin, provider, trace: selection.trace });
    }
    return planned;
  };
  const steps = planSection(playbook.steps);
  const always = planSection(playbook.always);
  if (errors.length > 0) return { errors, traces };
  return { plan: { playbook, facts, steps, always, withValidator: (provider) => registry.withValidator(provider), errorsOf: (name) => registry.plugins.find((loaded) => loaded.plugin.name === name)?.plugin.errors }, errors, traces };
}

// The chosen provider's schema over the parts of `with` that are not expressions.
function checkStaticWith(step: PlaybookStep, provider: StepProvider<any>, registry: Registry): PlaybookError[] {
  const validate = registry.withValidator(provider);
  if (validate(structuredClone(step.with))) return [];
  return (validate.errors ?? [])
    .filter((e) => !(typeof e.data === 'string' && e.data.includes('${{') && e.keyword !== 'required' && e.keyword !== 'additionalProperties'))
    .map((e) => {
      const path = pointerToPath(e.instancePath);
      const extra = e.keyword === 'additionalProperties' ? [String((e.params as { additionalProperty: string }).additionalProperty)] : [];
      return errInvalidWith(step.uses, `${path.length ? path.join('.') : 'with'} ${e.message ?? 'is invalid'} (provider ${provider.id})`, { ...step.locateWith([...path, ...extra]), step: step.id });
    });
}

/** The plan as JSON (plan.json, `plan --json`). */
export function planToJson(plan: Plan): Record<string, unknown> {
  const entry = (p: PlannedStep) => ({
    id: p.step.id,
    ...(p.step.name && { name: p.step.name }),
    uses: p.step.uses,
    section: p.step.section,
    plugin: p.plugin,
    provider: p.provider.id,
    location: p.step.location,
    with: p.step.with,
    ...(p.step.when !== undefined && { when: p.step.when }),
    ...(p.step.timeoutMs !== undefined && { timeoutMs: p.step.timeoutMs }),
    retries: p.step.retries,
    continueOnError: p.step.continueOnError,
    candidates: p.trace.candidates,
  });
  return {
    playbook: plan.playbook.name,
    file: plan.playbook.file,
    os: plan.facts.os,
    steps: plan.steps.map(entry),
    always: plan.always.map(entry),
  };
}

/** The step list announced in runStart. */
export function planSummary(plan: Plan): PlannedStepSummary[] {
  return [...plan.steps, ...plan.always].map((p) => ({
    id: p.step.id,
    ...(p.step.name && { name: p.step.name }),
    uses: p.step.uses,
    section: p.step.section,
    plugin: p.plugin,
    provider: p.provider.id,
  }));
}
