/**
 * Check mode (`run --check`): walk the plan with the target's facts, evaluate what can be
 * evaluated, and list the debugger commands each step would send. Providers' run() is never
 * called, and the session is not handed to anything, so nothing reaches the target.
 *
 * @see ../../docs/playbooks.md#check-mode
 */
import type { EventBus } from './events.js';
import { now } from './events.js';
import { collectReferences, evaluateCondition, evaluateTemplates, findTemplates, parseExpression } from './expressions.js';
import type { ExpressionScope } from './expressions.js';
import type { Plan, PlannedStep } from './plan.js';
import { planSummary } from './plan.js';
import type { PlaybookScope } from './playbook.js';

/** What check mode found for one step. */
export interface CheckedStep {
  id: string;
  uses: string;
  section: 'steps' | 'always';
  plugin: string;
  provider: string;
  /** Commands the step would send; absent when the provider has no check mode. */
  commands?: string[];
  /** `would run`, `would be skipped: …`, `depends on earlier outputs`, `no check mode`. */
  note: string;
}

// Inputs of a scope for check mode: root inputs, or include bindings resolved as far as possible.
function scopeInputs(scope: PlaybookScope, root: Readonly<Record<string, unknown>>, facts: unknown): Readonly<Record<string, unknown>> {
  if (!scope.parent) return root;
  const parent = scopeInputs(scope.parent, root, facts);
  const out: Record<string, unknown> = {};
  for (const decl of Object.values(scope.inputs)) {
    if (decl.name in scope.bindings) {
      try {
        out[decl.name] = evaluateTemplates(scope.bindings[decl.name], { inputs: parent, facts, steps: {}, env: {} });
      } catch {
        out[decl.name] = null;
      }
    } else if (decl.default !== undefined) out[decl.name] = decl.default;
  }
  return out;
}

// True when a string's expressions read outputs of steps, which check mode never runs.
function readsStepOutputs(text: string): boolean {
  return findTemplates(text).some((part) => collectReferences(parseExpression(part.expression)).some((ref) => ref.context === 'steps'));
}

// Resolve what check mode can know; strings that read step outputs stay as written.
function resolveKnown(value: unknown, scope: ExpressionScope): { value: unknown; unresolved: boolean } {
  if (typeof value === 'string') {
    if (readsStepOutputs(value)) return { value, unresolved: true };
    return { value: evaluateTemplates(value, scope), unresolved: false };
  }
  if (Array.isArray(value)) {
    const items = value.map((item) => resolveKnown(item, scope));
    return { value: items.map((i) => i.value), unresolved: items.some((i) => i.unresolved) };
  }
  if (value && typeof value === 'object') {
    const entries = Object.entries(value).map(([key, item]) => [key, resolveKnown(item, scope)] as const);
    return { value: Object.fromEntries(entries.map(([key, item]) => [key, item.value])), unresolved: entries.some(([, item]) => item.unresolved) };
  }
  return { value, unresolved: false };
}

/** List, per step, the commands it would send; emits the same events as a run. */
export function checkPlan(plan: Plan, inputs: Readonly<Record<string, unknown>>, bus: EventBus, runDir?: string): CheckedStep[] {
  const { facts } = plan;
  bus.emit({
    event: 'runStart',
    time: now(),
    playbook: plan.playbook.name,
    file: plan.playbook.file,
    check: true,
    ...(runDir && { runDir }),
    target: { kind: facts.target?.kind ?? 'unknown', spec: facts.target?.spec ?? '', os: `${facts.os.alias} ${facts.os.version}`, arch: facts.os.arch },
    steps: planSummary(plan),
  });
  const checked: CheckedStep[] = [];
  const started = Date.now();
  const visit = (planned: PlannedStep) => {
    const { step, provider, plugin } = planned;
    const stepInputs = scopeInputs(step.scope, inputs, facts);
    const scope: ExpressionScope = { inputs: stepInputs, facts, steps: {}, env: {}, status: { failed: false, cancelled: false } };
    try {
      scope.env = evaluateTemplates(step.scope.env, scope) as Record<string, unknown>;
    } catch {
      // env that reads step outputs stays unresolved in check mode
    }
    let note = 'would run';
    if (step.when !== undefined) {
      try {
        if (typeof step.when === 'string' && readsStepOutputs(step.when.includes('${{') ? step.when : `\${{ ${step.when} }}`)) note = 'runs if when: holds (it reads earlier outputs)';
        else note = evaluateCondition(step.when, scope) ? 'would run' : `would be skipped: when: ${String(step.when)} is false`;
      } catch {
        note = 'when: could not be evaluated before the run';
      }
    }
    let params: Record<string, unknown> = { ...step.with };
    try {
      const resolved = resolveKnown(step.with, scope);
      params = resolved.value as Record<string, unknown>;
      if (resolved.unresolved) note += '; with: reads earlier outputs (shown as written)';
    } catch {
      note += '; with: could not be resolved before the run';
    }
    let commands: string[] | undefined;
    if (provider.checkCommands) {
      try {
        commands = provider.checkCommands(params, { step: { id: step.id, ...(step.name && { name: step.name }), uses: step.uses, location: step.location }, facts });
      } catch (error) {
        note += `; its commands depend on earlier outputs (${(error as Error).message})`;
      }
    } else {
      note += '; no check mode: the step would be skipped under --check';
    }
    const entry: CheckedStep = { id: step.id, uses: step.uses, section: step.section, plugin, provider: provider.id, ...(commands && { commands }), note };
    checked.push(entry);
    bus.emit({ event: 'stepEnd', time: now(), step: step.id, uses: step.uses, section: step.section, status: 'skipped', durationMs: 0, attempts: 0, outputs: {}, reason: `check mode: ${note}`, commands: commands ?? [] });
  };
  plan.steps.forEach(visit);
  plan.always.forEach(visit);
  bus.emit({ event: 'runEnd', time: now(), status: 'succeeded', durationMs: Date.now() - started, counts: { ok: 0, changed: 0, skipped: checked.length, failed: 0 }, restoredWrites: 0 });
  return checked;
}
