/**
 * The audit log reader, loaded when the audit_log tool is first called: the server answers `initialize` before it
 * loads anything it does not need for that, and a session that goes through the proxy never loads the core.
 */
export const loadAudit = () => import('@agentsecrets/audit');
