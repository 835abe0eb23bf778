/**
 * The files under the AgentSecrets home, whoever writes them (the vault, the audit log, config and policy, the proxy
 * state): an exclusive lock file safe across processes, atomic replacement, validated JSON files, opening only regular files, change stamps and
 * the pid-alive check. Failures are `FILE_IO` and `FILE_BUSY`, named by path and errno code only; a package that
 * owns a file may translate them into its own codes.
 *
 * @packageDocumentation
 */
export { writeFileAtomic } from './atomic-write.js';
export { codeSuffix, errnoCode, fileIoError, NOT_REGULAR } from './errors.js';
export { type HomePaths, resolveHome } from './home.js';
export { type JsonSchema, readJsonFile, writeJsonFile } from './json.js';
export {
  type AssertLockHeld,
  type AssertLockHeldNow,
  type FileLockOptions,
  withFileLock,
  withFileLockNow,
} from './lock.js';
export { isProcessAlive } from './process.js';
export { openRegular, openRegularSync, readRegularFile } from './regular.js';
export { fileStamp, StampedCache } from './stamp.js';
