/** Cloudflare-shaped resources as the API returns them. */
export interface ServiceToken {
  id: string;
  client_id: string;
  name: string;
  duration: string;
  created_at: string;
  updated_at: string;
  expires_at: string | null;
  last_seen_at: string | null;
  enabled: boolean;
  client_secret_version: number;
  previous_client_secret_expires_at: string | null;
}
export type ServiceTokenWithSecret = ServiceToken & { client_secret: string };

export interface AccessApp {
  id: string;
  name: string;
  domain: string;
  type: 'self_hosted';
  session_duration: string;
  aud: string;
  upstream: string | null;
  read_service_tokens_from_header: string | null;
  /** Linked reusable policies, in precedence order. */
  policies?: Array<{ id: string; name: string; precedence: number; include: PolicyRule[] }>;
  created_at?: string;
  updated_at?: string;
}

export type PolicyRule = { service_token: { token_id: string } } | { any_valid_service_token: Record<string, never> };

export interface AccessPolicy {
  id: string;
  name: string;
  decision: 'non_identity';
  precedence: number;
  include: PolicyRule[];
  app_id?: string | null;
  app_name?: string | null;
  /** In the token's policy list: a reusable policy, with the apps linking it. */
  reusable?: true;
  apps?: Array<{ id: string; name: string }>;
  created_at?: string;
}

/** A reusable (account-level) Service Auth policy; `apps` is Gatehouse's list of the apps linking it. */
export interface ReusablePolicy {
  id: string;
  name: string;
  decision: 'non_identity';
  include: PolicyRule[];
  require: PolicyRule[];
  exclude: PolicyRule[];
  session_duration: string | null;
  reusable: true;
  app_count: number;
  apps: Array<{ id: string; name: string; precedence: number }>;
  created_at: string;
  updated_at: string;
}

export interface AuditEntry {
  id: string;
  action: { type: string; result?: boolean };
  actor: { type: string; id: string; ip: string | null };
  when: string;
  resource: { type: string; id: string | null; name: string | null };
  metadata: Record<string, unknown>;
}

export interface AlertPolicy {
  id: string;
  name: string;
  description?: string;
  enabled: boolean;
  alert_type: string;
  mechanisms: { email?: Array<{ id: string }>; webhooks?: Array<{ id: string }> };
  created?: string;
  modified?: string;
}

export interface WebhookDestination {
  id: string;
  name: string;
  url: string;
  type?: string;
  created_at?: string;
  last_success?: string | null;
  last_failure?: string | null;
}

export interface AlertHistoryItem {
  id: string;
  name?: string;
  description?: string;
  alert_body?: string;
  alert_type?: string;
  mechanism?: string;
  mechanism_type?: string;
  policy_id?: string;
  sent?: string;
}
