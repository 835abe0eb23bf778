import { errnoCode } from './errors.js';

/**
 * True when a process with this pid exists on this machine: signal 0 checks without signalling, and EPERM means it
 * exists but belongs to another user. A pid can be reused, so "alive" means "some process has this pid".
 */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return errnoCode(error) === 'EPERM';
  }
}
