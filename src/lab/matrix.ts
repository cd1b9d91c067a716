/**
 * `leakhunt lab matrix`: the inventory as a GitHub Actions `strategy.matrix`, one entry per
 * target with the runner labels of the machine its debugger hangs off. The CI system the team
 * already runs distributes the targets; each job runs `leakhunt run … --inventory lab.yaml
 * --limit name=<target>` and uploads its run directory, and `leakhunt report --merge` joins them.
 * No target spec is printed: a spec may carry a connection key, and the job reads it from the
 * inventory on the runner.
 */
import type { LabTarget } from './inventory.js';

/** One matrix entry. */
export interface MatrixEntry {
  target: string;
  /** `runs-on` labels. */
  runner: string[];
  labels: Record<string, string | number | boolean>;
}

/** The runner labels of a target the inventory gives none. */
export const defaultRunner = ['self-hosted'];

/** `{ include: [...] }`, ready for `fromJSON()` in `strategy.matrix`. */
export function labMatrix(targets: readonly LabTarget[]): { include: MatrixEntry[] } {
  return { include: targets.map((target) => ({ target: target.name, runner: target.runner.length ? target.runner : defaultRunner, labels: target.labels })) };
}
