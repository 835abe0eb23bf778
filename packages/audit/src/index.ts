/**
 * The AgentSecrets audit log: a strict event type with no field for a value, a hash-chained JSON Lines writer safe
 * across processes, a reader and a verifier.
 *
 * @packageDocumentation
 */
export { AuditLog, type AuditLogOptions, GENESIS_HASH } from './log.js';
export { type AuditFilter, type FollowOptions, followAudit, readLast } from './read.js';
export {
  type AuditEvent,
  type AuditEventInput,
  AuditEventSchema,
  STATUSES,
  STYLES,
  TRANSPORTS,
} from './schema.js';
export { type VerifyFailure, type VerifyResult, verifyAuditLog } from './verify.js';
