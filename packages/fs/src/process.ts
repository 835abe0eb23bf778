import { readFileSync } from 'node:fs';
import { errnoCode } from './errors.js';

/**
 * True when a process with this pid exists on this machine and has not ended: signal 0 checks without signalling,
 * and EPERM means it exists but belongs to another user. A zombie — killed, not yet reaped by its parent, common
 * under a container's init — has ended: on Linux its state in /proc says so. A pid can be reused, so "alive" means
 * "some process has this pid".
 */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return errnoCode(error) === 'EPERM';
  }
  if (process.platform !== 'linux') return true;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    // "pid (comm) S ...": comm may hold spaces and parentheses, so the state follows the last ')'.
    return !/^\s*[ZX]/.test(stat.slice(stat.lastIndexOf(')') + 1));
  } catch {
    return true;
  }
}
