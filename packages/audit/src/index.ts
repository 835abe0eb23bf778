/**
 * The AgentSecrets audit log: a strict event type with no field for a value, a hash-chained JSON Lines writer safe
 * across processes, a reader and a verifier.
 *
 * @packageDocumentation
 */
export { AuditLog, type AuditLogOptions, GENESIS_HASH } from './log.js';
export { type AuditFilter, followAudit, readLast } from './read.js';
export { type AuditEvent, type AuditEventInput, AuditEventSchema, TRANSPORTS } from './schema.js';
export { type VerifyResult, verifyAuditLog } from './verify.js';
