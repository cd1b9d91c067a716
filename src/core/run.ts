/**
 * The runner: steps in order with `when`, timeouts (an AbortSignal to the provider), retries,
 * continue-on-error and outputs; facts merged from outcomes; `always` on every exit path;
 * and, after `always`, any memory write still pending in the undo log restored by the engine.
 *
 * Facts precedence (the one rule): the latest report wins, key by key. Connect-time facts are
 * the base; each step outcome's `facts` and each refreshFacts() result are deep-merged over
 * them in the order they arrive (plain objects merge, anything else replaces).
 *
 * @see ../../docs/playbooks.md#how-a-run-goes
 */
import { errExpression, errInvalidWith, errPlugin, errRunAborted, errStepFailed, errTimeout, isPlaybookError } from './errors.js';
import type { PlaybookError } from './errors.js';
import type { EventBus, EventError, RunOutcome } from './events.js';
import { now } from './events.js';
import { evaluateCondition, evaluateTemplates, parseExpression, conditionText, usesStatusFunction } from './expressions.js';
import type { ExpressionScope, RunStatus, StepsView, StepView } from './expressions.js';
import { redactSecrets } from '../debuggers/redact.js';
import { dataFileSizes } from './resume.js';
import { pointerToPath } from './locate.js';
import type { Plan, PlannedStep } from './plan.js';
import { planSummary } from './plan.js';
import { describeSelection } from './select.js';
import { bindKdCommand } from './kd-command.js';
import type { PlaybookScope } from './playbook.js';
import type {
  ConnectedTarget,
  DebuggerSession,
  Facts,
  RunFiles,
  StepContext,
  StepDefinition,
  StepOutcome,
  StepResult,
  StepStatus,
  TargetMemory,
  UndoRecord,
} from './types.js';

/** Builds the TargetMemory a step writes through (src/debuggers/memory.ts in production). */
/** `stepId` is read at every write, so one memory serves the whole run and each undo record names the step that wrote it. */
export type MemoryFactory = (session: DebuggerSession, files: RunFiles, stepId: () => string) => TargetMemory;

/** Everything a run needs. */
export interface RunOptions {
  plan: Plan;
  target: ConnectedTarget;
  /** The root playbook's inputs, resolved (defaults applied, types checked). */
  inputs: Readonly<Record<string, unknown>>;
  files: RunFiles;
  bus: EventBus;
  memory: MemoryFactory;
  /** Aborting it stops the current step and skips the rest; `always` still runs. */
  signal?: AbortSignal;
  /** Aborting it stops cleanup too (a second Ctrl+C). */
  cleanupSignal?: AbortSignal;
  /** How long to wait for a provider to settle after its signal was aborted, before moving on. */
  graceMs?: number;
  /** Ask the operator a yes/no question (TTY only). */
  confirm?: (question: string) => Promise<boolean>;
  /** The spec the target was opened with, for events. */
  targetSpec?: string;
  runDir?: string;
  /** Main-section steps finished by an interrupted run (`leakhunt resume`): recorded with these results, not run again. */
  reuse?: ReadonlyMap<string, StepResult>;
}

/** One step as the run recorded it. */
export interface StepRecord {
  id: string;
  uses: string;
  section: 'steps' | 'always';
  plugin: string;
  provider: string;
  result: StepResult;
  durationMs: number;
  attempts: number;
}

/** How the run ended, what each step did, and what the engine had to restore. */
export interface RunResult {
  status: RunOutcome;
  steps: StepRecord[];
  facts: Facts;
  /** Memory writes the engine restored after `always` because they were still pending. */
  restored: UndoRecord[];
  error?: PlaybookError;
}

/**
 * RunFiles that report a failed write (disk full, run directory gone) to `onError` instead of
 * throwing into the transport or a reporter; only `rethrow` files (the undo log: no memory write
 * may happen without its record) still throw.
 */
export function guardRunFiles(files: RunFiles, onError: (file: string, error: unknown) => void, rethrow: readonly string[] = ['undo.jsonl']): RunFiles {
  const guard = (file: string, write: () => void) => {
    try {
      write();
    } catch (error) {
      onError(file, error);
      if (rethrow.includes(file)) throw error;
    }
  };
  return {
    dir: files.dir,
    appendJsonLine: (file, value) => guard(file, () => files.appendJsonLine(file, value)),
    writeJson: (file, value) => guard(file, () => files.writeJson(file, value)),
  };
}

// Plain objects merge key by key; anything else (arrays, scalars) is replaced.
function deepMerge<T>(base: T, over: unknown): T {
  if (!isPlainObject(base) || !isPlainObject(over)) return (over === undefined ? base : over) as T;
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(over)) out[key] = key in out ? deepMerge(out[key], value) : value;
  return out as T;
}

// True for {…} but not arrays or null.
function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Merge facts under the one precedence rule: the later report wins, key by key. */
export function mergeFacts(base: Facts, update: unknown): Facts {
  return deepMerge(base, update);
}

// An error in the shape events and results carry.
function toEventError(error: PlaybookError): EventError {
  return { code: error.pluginCode ?? error.code, message: error.message, ...(error.hint && { hint: error.hint }), ...(error.location && { location: error.location }) };
}

// Wait for `ms`, or less when the signal aborts.
function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (ms <= 0 || signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

// Resolve once the events already queued (a signal taken, a child's output) have been handled:
// one turn of the event loop, not a wait of any length.
function eventsHandled(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Run a plan against a connected target. Never throws for a step's failure; returns the result. */
export async function runPlan(options: RunOptions): Promise<RunResult> {
  const { plan, target, files, bus } = options;
  const started = Date.now();
  const records = new Map<string, StepRecord>();
  const order: StepRecord[] = [];
  // One memory for the whole run: a later step (clear, restore) sees what an earlier one wrote,
  // and undo.jsonl numbers every write of the run in one sequence.
  let currentStepId = '';
  const memory = options.memory(target.session, files, () => currentStepId);
  const status: RunStatus = { failed: false, cancelled: false };
  let facts = plan.facts;
  let firstError: PlaybookError | undefined;
  const scopeInputs = new Map<PlaybookScope, Readonly<Record<string, unknown>>>();
  const scopeGate = new Map<PlaybookScope, boolean>();
  const reached = new Set<PlaybookScope>();
  const graceMs = options.graceMs ?? 2000;

  // Outputs and status of the steps a scope can see, by their local ids; the steps of its
  // includes under the include's id (`steps.<include-id>.<step-id>`, nested for nested includes).
  const stepsView = (scope: PlaybookScope): StepsView => {
    const view: Record<string, StepView | Record<string, unknown>> = {};
    for (const [local, global] of scope.stepIds) {
      const record = records.get(global);
      if (record) view[local] = { outputs: record.result.outputs, status: record.result.status };
    }
    const prefix = scope.key ? `${scope.key}.` : '';
    for (const [global, record] of records) {
      if (!global.startsWith(prefix)) continue;
      const parts = global.slice(prefix.length).split('.');
      if (parts.length < 2) continue;
      let level: Record<string, unknown> = view;
      for (const part of parts.slice(0, -1)) level = (level[part] ??= {}) as Record<string, unknown>;
      level[parts.at(-1)!] = { outputs: record.result.outputs, status: record.result.status };
    }
    return view as StepsView;
  };
  // Inputs of a scope: the CLI's for the root, the include's with: (evaluated in the parent) otherwise.
  const inputsOf = (scope: PlaybookScope): Readonly<Record<string, unknown>> => {
    if (!scope.parent) return options.inputs;
    let values = scopeInputs.get(scope);
    if (!values) {
      const parentScope = expressionScope(scope.parent);
      const resolved: Record<string, unknown> = {};
      for (const decl of Object.values(scope.inputs)) {
        if (decl.name in scope.bindings) resolved[decl.name] = evaluateTemplates(scope.bindings[decl.name], parentScope);
        else if (decl.default !== undefined) resolved[decl.name] = decl.default;
      }
      values = resolved;
      scopeInputs.set(scope, values);
    }
    return values;
  };
  const expressionScope = (scope: PlaybookScope): ExpressionScope => {
    const inputs = inputsOf(scope);
    const env = evaluateTemplates(scope.env, { inputs, facts, steps: {}, env: {} }) as Record<string, unknown>;
    return { inputs, facts, steps: stepsView(scope), env, status };
  };
  // An include's when:, evaluated once in its parent scope when the include is first reached.
  const gateOpen = (scope: PlaybookScope): boolean => {
    if (!scope.parent) return true;
    let open = scopeGate.get(scope);
    if (open === undefined) {
      open = gateOpen(scope.parent) && (scope.when === undefined || evaluateCondition(scope.when, expressionScope(scope.parent)));
      scopeGate.set(scope, open);
    }
    return open;
  };

  const record = (planned: PlannedStep, result: StepResult, durationMs: number, attempts: number, extra: { commands?: string[] } = {}) => {
    const { step } = planned;
    const entry: StepRecord = { id: step.id, uses: step.uses, section: step.section, plugin: planned.plugin, provider: planned.provider.id, result, durationMs, attempts };
    records.set(step.id, entry);
    order.push(entry);
    bus.emit({
      event: 'stepEnd',
      time: now(),
      step: step.id,
      uses: step.uses,
      section: step.section,
      status: result.status,
      durationMs,
      attempts,
      outputs: result.outputs,
      ...(result.status === 'skipped' && { reason: result.reason }),
      ...((result.status === 'ok' || result.status === 'changed') && result.summary && { summary: result.summary }),
      ...(result.status === 'failed' && { error: result.error }),
      ...extra,
    });
  };
  const skip = (planned: PlannedStep, reason: string) => record(planned, { status: 'skipped', reason, outputs: {} }, 0, 0);

  // One attempt of a provider, bounded by the step timeout and the run's abort signal.
  const attempt = async (planned: PlannedStep, params: Record<string, unknown>, runSignal: AbortSignal | undefined, attemptNo: number): Promise<StepOutcome> => {
    const { step, provider, plugin } = planned;
    const controller = new AbortController();
    const onRunAbort = () => controller.abort(runSignal?.reason ?? new Error('aborted'));
    runSignal?.addEventListener('abort', onRunAbort, { once: true });
    if (runSignal?.aborted) onRunAbort();
    let timer: NodeJS.Timeout | undefined;
    const definition: StepDefinition = { id: step.id, ...(step.name && { name: step.name }), uses: step.uses, location: step.location };
    currentStepId = step.id;
    const scope = step.scope;
    const log = (level: 'debug' | 'info' | 'warn') => (message: string) => bus.emit({ event: 'log', time: now(), level, step: step.id, message });
    const context: StepContext = {
      step: definition,
      get facts() {
        return facts;
      },
      session: target.session,
      kd: bindKdCommand({
        session: target.session,
        signal: controller.signal,
        step: definition,
        get facts() {
          return facts;
        },
      }),
      memory,
      files,
      checkMode: false,
      signal: controller.signal,
      log: { debug: log('debug'), info: log('info'), warn: log('warn') },
      progress: { update: (done, total, message) => bus.emit({ event: 'progress', time: now(), step: step.id, done, ...(total !== undefined && { total }), ...(message !== undefined && { message }) }) },
      inputs: inputsOf(scope),
      outputsOf: (id) => records.get(scope.stepIds.get(id) ?? id)?.result.outputs,
      ...(target.host && { host: target.host }),
      ...(options.confirm && { confirm: options.confirm }),
      refreshFacts: async () => {
        facts = mergeFacts(facts, await target.refreshFacts());
        return facts;
      },
      fail(code, message, details = {}) {
        const declared = plan.errorsOf?.(plugin);
        if (declared && !Object.hasOwn(declared, code)) bus.emit({ event: 'log', time: now(), level: 'warn', step: step.id, message: `plugin ${plugin} failed with code ${code}, which it does not declare in its errors` });
        throw errStepFailed(step.id, message, { pluginCode: `${plugin}/${code}`, plugin, ...(details.hint && { hint: details.hint }), ...(details.cause !== undefined && { cause: details.cause }) });
      },
    };
    bus.emit({ event: 'stepStart', time: now(), step: step.id, ...(step.name && { name: step.name }), uses: step.uses, section: step.section, plugin, provider: provider.id, selected: describeSelection(planned.trace, plugin, provider.id), attempt: attemptNo, ...(options.runDir && { dataBytes: dataFileSizes(options.runDir) }) });
    const running = Promise.resolve().then(() => provider.run(params, context));
    const stopped = new Promise<never>((_, reject) => {
      const onAbort = () => reject(controller.signal.reason);
      controller.signal.addEventListener('abort', onAbort, { once: true });
      if (step.timeoutMs !== undefined) {
        timer = setTimeout(() => controller.abort(errTimeout(step.id, step.timeoutMs!, { location: step.location })), step.timeoutMs);
      }
    });
    try {
      return await Promise.race([running, stopped]);
    } catch (error) {
      // The same Ctrl+C can reach the debugger too (kd.exe shares the Windows console) and cut its
      // reply short a turn before this process takes the signal: a failure is judged only after
      // the events already queued were handled, so a stop on its way is the cause, not the
      // truncated reply it left (which a plugin would blame on kd or on the target).
      const failedFirst = !controller.signal.aborted;
      if (failedFirst) await eventsHandled();
      if (controller.signal.aborted) {
        if (failedFirst) bus.emit({ event: 'log', time: now(), level: 'debug', step: step.id, message: `stopped as it failed; its own error: ${(error as Error).message}` });
        // Let a provider that honours its signal finish unwinding before cleanup touches the target.
        await Promise.race([running.catch(() => undefined), sleep(graceMs)]);
        const reason = controller.signal.reason;
        throw isPlaybookError(reason) ? reason : errRunAborted('signal');
      }
      throw error;
    } finally {
      clearTimeout(timer);
      runSignal?.removeEventListener('abort', onRunAbort);
    }
  };

  // Resolve with:, validate it, then attempt with retries; records the result.
  const execute = async (planned: PlannedStep, runSignal: AbortSignal | undefined) => {
    const { step, provider, plugin } = planned;
    const begun = Date.now();
    let params: Record<string, unknown>;
    try {
      params = evaluateTemplates(step.with, expressionScope(step.scope)) as Record<string, unknown>;
    } catch (error) {
      return fail(planned, errExpression(JSON.stringify(step.with), (error as Error).message, { ...step.locateWith([]), step: step.id }), Date.now() - begun, 0);
    }
    const validate = plan.withValidator(provider);
    if (!validate(params)) {
      const first = validate.errors?.[0];
      const path = pointerToPath(first?.instancePath ?? '');
      return fail(planned, errInvalidWith(step.uses, `${path.length ? path.join('.') : 'with'} ${first?.message ?? 'is invalid'} after expressions were resolved (got ${JSON.stringify(first?.data)})`, { ...step.locateWith(path), step: step.id }), Date.now() - begun, 0);
    }
    let lastError: PlaybookError | undefined;
    let attempts = 0;
    for (let n = 1; n <= step.retries + 1; n++) {
      attempts = n;
      try {
        const outcome = await attempt(planned, params, runSignal, n);
        if (outcome.status !== 'skipped' && outcome.facts) facts = mergeFacts(facts, outcome.facts);
        const outputs = outcome.outputs ?? {};
        const undeclared = Object.keys(outputs).filter((key) => !(key in provider.outputs));
        if (undeclared.length) bus.emit({ event: 'log', time: now(), level: 'warn', step: step.id, message: `provider ${plugin}/${provider.id} returned undeclared outputs: ${undeclared.join(', ')}` });
        const result: StepResult =
          outcome.status === 'skipped'
            ? { status: 'skipped', reason: outcome.reason, outputs }
            : { status: outcome.status, outputs, ...(outcome.summary && { summary: outcome.summary }) };
        record(planned, result, Date.now() - begun, attempts);
        return;
      } catch (error) {
        lastError = isPlaybookError(error) ? error : errPlugin(plugin, step.id, error, { location: step.location });
        lastError.step ??= step.id;
        lastError.plugin ??= plugin;
        lastError.location ??= step.location;
        if (runSignal?.aborted || lastError.code === 'RUN_ABORTED' || n > step.retries) break;
        bus.emit({ event: 'log', time: now(), level: 'warn', step: step.id, message: `attempt ${n} failed (${lastError.message}); retrying in ${step.delayMs} ms` });
        await sleep(step.delayMs, runSignal);
        if (runSignal?.aborted) break;
      }
    }
    fail(planned, lastError!, Date.now() - begun, attempts);
  };

  const fail = (planned: PlannedStep, error: PlaybookError, durationMs: number, attempts: number) => {
    record(planned, { status: 'failed', error: toEventError(error), outputs: {} }, durationMs, attempts);
    if (error.code === 'RUN_ABORTED') status.cancelled = true;
    if (!planned.step.continueOnError || error.code === 'RUN_ABORTED') {
      status.failed = status.failed || error.code !== 'RUN_ABORTED';
      firstError ??= error;
    } else {
      bus.emit({ event: 'log', time: now(), level: 'warn', step: planned.step.id, message: `failed, continuing (continue-on-error): ${error.message}` });
    }
  };

  // Decide whether a step runs: include gates, earlier failure, then its when:.
  const shouldRun = (planned: PlannedStep, section: 'steps' | 'always'): { run: true } | { run: false; reason: string } => {
    const { step } = planned;
    try {
      if (!gateOpen(step.scope)) return { run: false, reason: 'the include\'s when: is false' };
      const statusAware = typeof step.when === 'string' && usesStatusFunction(parseExpression(conditionText(step.when)));
      if (section === 'steps' && status.cancelled) return { run: false, reason: 'the run was aborted' };
      if (section === 'steps' && status.failed && !statusAware) return { run: false, reason: 'an earlier step failed' };
      if (step.when !== undefined && !evaluateCondition(step.when, expressionScope(step.scope))) return { run: false, reason: `when: ${String(step.when)} is false` };
      // An include counts as reached once one of its steps runs: its cleanup is then due.
      for (let scope: PlaybookScope | undefined = step.scope; scope; scope = scope.parent) reached.add(scope);
      return { run: true };
    } catch (error) {
      throw errExpression(String(step.when), (error as Error).message, { location: step.location, step: step.id });
    }
  };

  bus.emit({
    event: 'runStart',
    time: now(),
    playbook: plan.playbook.name,
    file: plan.playbook.file,
    check: false,
    ...(options.runDir && { runDir: options.runDir }),
    target: { kind: facts.target?.kind ?? 'unknown', spec: redactSecrets(options.targetSpec ?? facts.target?.spec ?? ''), os: `${facts.os.alias} ${facts.os.version}`, arch: facts.os.arch },
    steps: planSummary(plan),
  });

  // Evaluate a step's `when:`; a step that may not run is recorded as failed (bad expression) or skipped.
  const admit = (planned: PlannedStep, section: 'steps' | 'always'): boolean => {
    let decision;
    try {
      decision = shouldRun(planned, section);
    } catch (error) {
      fail(planned, error as PlaybookError, 0, 0);
      return false;
    }
    if (!decision.run) skip(planned, decision.reason);
    return decision.run;
  };

  for (const planned of plan.steps) {
    if (options.signal?.aborted) status.cancelled = true;
    if (!admit(planned, 'steps')) continue;
    const reused = options.reuse?.get(planned.step.id);
    if (reused) {
      bus.emit({ event: 'log', time: now(), level: 'info', step: planned.step.id, message: `reused from the interrupted run (${reused.status}${reused.status === 'skipped' ? `: ${reused.reason}` : ''})` });
      record(planned, reused, 0, 0);
      continue;
    }
    await execute(planned, options.signal);
    if (options.signal?.aborted) status.cancelled = true;
  }

  // A step stopped while the target ran (Ctrl+C during collect) leaves it running; cleanup reads
  // and writes memory, which needs a stopped target.
  if (plan.always.length > 0 && target.session.running) {
    try {
      await target.session.breakIn({ timeoutMs: 10_000 });
    } catch (error) {
      bus.emit({ event: 'log', time: now(), level: 'warn', message: `could not break in before cleanup: ${(error as Error).message}` });
    }
  }

  // Cleanup: every always step whose include was reached, on every exit path.
  for (const planned of plan.always) {
    if (planned.step.scope.parent && !reached.has(planned.step.scope)) {
      skip(planned, 'its include was not reached');
      continue;
    }
    if (!admit(planned, 'always')) continue;
    const before = status.failed;
    await execute(planned, options.cleanupSignal);
    if (!before && records.get(planned.step.id)?.result.status === 'failed' && !planned.step.continueOnError) status.failed = true;
  }

  // Belt and braces for safety invariant 2: nothing written to target memory stays patched.
  const restored: UndoRecord[] = [];
  if (memory.pending().length > 0) {
    try {
      // Writes go through a halted target: stop it first if cleanup left it running.
      if (target.session.running) await target.session.breakIn({ timeoutMs: 10_000 });
      currentStepId = 'engine';
      const undone = await memory.restore();
      restored.push(...undone);
    } catch (error) {
      const wrapped = errPlugin('engine', 'restore', error);
      bus.emit({ event: 'log', time: now(), level: 'error', message: `could not restore pending memory writes: ${wrapped.message}` });
      status.failed = true;
      firstError ??= wrapped;
    }
  }
  if (restored.length > 0) {
    bus.emit({ event: 'log', time: now(), level: 'warn', message: `the engine restored ${restored.length} memory write(s) still pending after cleanup: ${restored.map((r) => `${r.address} (${r.purpose}, step ${r.step})`).join(', ')}` });
  }

  // A signal that came while cleanup ran still aborted the run: the user asked to stop.
  if (options.signal?.aborted) status.cancelled = true;
  const outcome: RunOutcome = status.cancelled ? 'aborted' : status.failed ? 'failed' : 'succeeded';
  if (outcome === 'aborted' && (!firstError || firstError.code !== 'RUN_ABORTED')) firstError = errRunAborted(String(options.signal?.reason instanceof Error ? options.signal.reason.message : options.signal?.reason ?? 'signal'));
  const counts: Record<StepStatus, number> = { ok: 0, changed: 0, skipped: 0, failed: 0 };
  for (const entry of order) counts[entry.result.status]++;
  bus.emit({
    event: 'runEnd',
    time: now(),
    status: outcome,
    durationMs: Date.now() - started,
    counts,
    restoredWrites: restored.length,
    ...(firstError && outcome !== 'succeeded' && { error: toEventError(firstError) }),
  });
  return { status: outcome, steps: order, facts, restored, ...(firstError && outcome !== 'succeeded' && { error: firstError }) };
}
