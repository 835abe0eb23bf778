/**
 * The OS sandbox of `agentsecrets run` (Linux: bubblewrap, two stages, a seccomp program built in JS).
 *
 * @packageDocumentation
 */
export { BRIDGE_PORT, bwrapArgv, checkSandbox, type SandboxPlan } from './linux.js';
export { sandboxFilter, seccompSupported } from './seccomp.js';
