import { openApiPaths } from '../docs/operations.js';
import { AuditQuery, CfAuditEntry } from './audit.controller.js';

export const auditOpenApi = openApiPaths('Audit log', [
  {
    method: 'get',
    path: '/client/v4/accounts/{account_id}/audit_logs',
    summary: 'Audit log: every change and every access decision',
    query: AuditQuery,
    result: CfAuditEntry,
    page: true,
  },
]);
