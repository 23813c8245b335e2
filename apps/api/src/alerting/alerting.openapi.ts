import { Deleted, openApiPaths } from '../docs/operations.js';
import { AlertPolicyBody, CfAlertHistory, CfAlertPolicy, CfWebhook, HistoryQuery, WebhookBody } from './alerting.controller.js';

const base = '/client/v4/accounts/{account_id}/alerting/v3';
export const alertingOpenApi = openApiPaths('Notifications', [
  { method: 'get', path: `${base}/policies`, summary: 'List alert policies', result: CfAlertPolicy, page: true },
  {
    method: 'post',
    path: `${base}/policies`,
    summary: 'Create an alert policy (alert_type "expiring_service_token_alert")',
    body: AlertPolicyBody,
    result: CfAlertPolicy,
  },
  { method: 'get', path: `${base}/policies/{policy_id}`, summary: 'Get an alert policy', result: CfAlertPolicy },
  { method: 'put', path: `${base}/policies/{policy_id}`, summary: 'Replace an alert policy', body: AlertPolicyBody, result: CfAlertPolicy },
  { method: 'delete', path: `${base}/policies/{policy_id}`, summary: 'Delete an alert policy (pending deliveries are cancelled)', result: Deleted },
  { method: 'get', path: `${base}/destinations/webhooks`, summary: 'List webhook destinations (secrets are never returned)', result: CfWebhook, page: true },
  {
    method: 'post',
    path: `${base}/destinations/webhooks`,
    summary: 'Create a webhook destination; bodies are signed with `secret` (X-Gatehouse-Signature)',
    body: WebhookBody,
    result: CfWebhook,
  },
  { method: 'get', path: `${base}/destinations/webhooks/{webhook_id}`, summary: 'Get a webhook destination', result: CfWebhook },
  {
    method: 'put',
    path: `${base}/destinations/webhooks/{webhook_id}`,
    summary: 'Update a webhook destination (omit secret to keep it, null to remove it)',
    body: WebhookBody,
    result: CfWebhook,
  },
  {
    method: 'delete',
    path: `${base}/destinations/webhooks/{webhook_id}`,
    summary: 'Delete a webhook destination (409 while a policy uses it)',
    result: Deleted,
  },
  {
    method: 'get',
    path: `${base}/history`,
    summary: 'Alert history: every delivery, its recipient, token, time and outcome',
    query: HistoryQuery,
    result: CfAlertHistory,
    page: true,
  },
]);
