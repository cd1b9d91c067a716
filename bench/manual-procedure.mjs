/**
 * The procedure of "Using the Kernel Debugger to Find a Kernel-Mode Memory Leak" done by hand
 * in kd, as the list of debugger commands a person types, so a hunt's command count can be
 * set against it. Break-ins (Ctrl+C) count as commands, as they do in a hunt's transcript.
 */

/**
 * The commands of the manual procedure for `samples` !poolused snapshots and `stacks` stacks.
 * `reboot` adds the restart Windows 2000/XP need after GFlags enables pool tagging.
 * Each entry: the command and why the procedure types it.
 */
export function manualCommands({ samples = 1, stacks, reboot = true }) {
  const commands = [];
  const add = (command, why) => commands.push({ command, why });
  // "Enable Pool Tagging": GFlags' System Registry tab runs on the target, not in kd.
  if (reboot) add('.reboot', 'restart Windows so the GFlags pool-tagging flag takes effect (2000/XP)');
  add('.reload', 'step 1: reload all modules, so nt!PoolHitTag and the tag tables resolve');
  add('!poolused 4', 'step 2: pool use per tag, sorted by paged pool');
  for (let sample = 1; sample < samples; sample++) {
    add('g', 'let the target run so the leak grows between snapshots');
    add('<Ctrl+C>', 'break in again');
    add('!poolused 4', 'another snapshot, to compare with the previous one');
  }
  add("ed nt!poolhittag ' cbA'", '"Finding the Leak" steps 1–2: PoolHitTag = the suspect tag, little-endian');
  add('db nt!poolhittag L4', 'step 3: verify PoolHitTag');
  add('g', 'run until the first allocation or free with the tag breaks');
  for (let stack = 1; stack <= stacks; stack++) {
    add('kb', 'step 4: the stack of this allocation or free');
    if (stack < stacks) add('g', 'on to the next break');
  }
  add('ed nt!poolhittag 0', 'clear the breakpoint, as the procedure says');
  add('g', 'leave the target running');
  return commands;
}
