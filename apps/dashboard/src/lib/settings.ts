/** Shapes of the Settings page's routes (Cloudflare's field names). */
export interface AccessOrganization {
  name: string;
  auth_domain: string | null;
  session_duration: string;
  strict_service_token_auth: boolean;
  service_token_inactivity: { enabled: boolean; inactivity_threshold_days: number; action: 'disable' | 'delete' };
  created_at: string | null;
  updated_at: string | null;
}

export interface SigningKeys {
  key_rotation_interval_days: number;
  days_until_next_rotation: number;
  last_key_rotation_at: string;
  next_key_rotation_at: string;
  activation_delay_seconds: number;
  keys: Array<{ kid: string; state: 'pending' | 'active' | 'previous'; created_at: string; activates_at: string }>;
}
