/**
 * The playbook after loading: normalized steps with positions, scopes for includes, inputs.
 * Raw YAML never reaches the runner or providers.
 *
 * @see ../../docs/playbooks.md
 */
import type { SourceLocation, StepDefinition } from './types.js';
import type { ErrorDetails } from './errors.js';

/** The type of a playbook input. */
export type InputType = 'string' | 'number' | 'integer' | 'boolean';

/** A declared input of a playbook. */
export interface InputDeclaration {
  name: string;
  type: InputType;
  description?: string;
  default?: string | number | boolean;
  enum?: readonly (string | number | boolean)[];
  minimum?: number;
  maximum?: number;
  required: boolean;
  location: SourceLocation;
  /** Where the default value is written (for messages about a default that is refused). */
  defaultLocation?: SourceLocation;
}

/** One playbook file's view: its inputs, env, step ids, and (for includes) how it was included. */
export interface PlaybookScope {
  /** `` for the root playbook; the include step's id path (`cleanup`, `outer.inner`) for includes. */
  key: string;
  file: string;
  name: string;
  inputs: Readonly<Record<string, InputDeclaration>>;
  env: Readonly<Record<string, unknown>>;
  /** The include's `with:` (may hold expressions over the parent scope). */
  bindings: Readonly<Record<string, unknown>>;
  /** Where each binding of the include's `with:` is written, in the including file. */
  bindingLocations?: Readonly<Record<string, SourceLocation>>;
  /** The include's `when:` (evaluated in the parent scope). */
  when?: string | boolean;
  parent?: PlaybookScope;
  /** Local step id → global step id, for this file's steps. */
  stepIds: ReadonlyMap<string, string>;
}

/** A step after loading. */
export interface PlaybookStep extends StepDefinition {
  /** The id inside its own file (the global id adds the include path). */
  localId: string;
  section: 'steps' | 'always';
  scope: PlaybookScope;
  /** Parameters as written (expressions unresolved). */
  with: Readonly<Record<string, unknown>>;
  when?: string | boolean;
  timeoutMs?: number;
  retries: number;
  delayMs: number;
  continueOnError: boolean;
  /** Location and code frame of a path inside this step's `with:` (for run-time errors). */
  locateWith(path: readonly string[]): ErrorDetails;
}

/** A loaded, validated playbook. */
export interface Playbook {
  file: string;
  name: string;
  description?: string;
  scope: PlaybookScope;
  inputs: Readonly<Record<string, InputDeclaration>>;
  steps: readonly PlaybookStep[];
  /** Included playbooks' cleanup first (innermost first), then this playbook's own. */
  always: readonly PlaybookStep[];
}
