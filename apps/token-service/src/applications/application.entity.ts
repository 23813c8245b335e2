import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

@Entity('access_apps')
@Index('access_apps_domain', ['domain'], { unique: true })
@Index('access_apps_account_created', ['accountId', 'createdAt'])
@Index('access_apps_revision', ['revision', 'id'])
export class ApplicationEntity {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Column({ type: 'uuid', name: 'account_id' })
  accountId!: string;

  @Column({ type: 'text' })
  name!: string;

  /** Normalised by the contract (lower-case host, no trailing slash); unique per account. */
  @Column({ type: 'text' })
  domain!: string;

  @Column({ type: 'text', default: 'self_hosted' })
  type!: 'self_hosted';

  @Column({ type: 'text', name: 'session_duration' })
  sessionDuration!: string;

  /** Audience tag, generated on create, never changed. */
  @Index('access_apps_aud', { unique: true })
  @Column({ type: 'text' })
  aud!: string;

  @Column({ type: 'text', nullable: true })
  upstream!: string | null;

  @Column({ type: 'text', name: 'read_service_tokens_from_header', nullable: true })
  readServiceTokensFromHeader!: string | null;

  @Column({ type: 'timestamptz', name: 'sessions_revoked_at', nullable: true })
  sessionsRevokedAt!: Date | null;

  @Column({ type: 'boolean', name: 'http_only_cookie_attribute', default: true })
  httpOnlyCookieAttribute!: boolean;

  @Column({ type: 'text', name: 'same_site_cookie_attribute', nullable: true })
  sameSiteCookieAttribute!: 'strict' | 'lax' | 'none' | null;

  @Column({ type: 'boolean', name: 'path_cookie_attribute', default: false })
  pathCookieAttribute!: boolean;

  @Column({ type: 'boolean', name: 'service_auth_401_redirect', default: false })
  serviceAuth401Redirect!: boolean;

  /** Stored and returned only. */
  @Column({ type: 'jsonb', default: () => "'[]'" })
  tags!: string[];

  @Column({ type: 'boolean', name: 'app_launcher_visible', default: true })
  appLauncherVisible!: boolean;

  @Column({ type: 'timestamptz', name: 'created_at' })
  createdAt!: Date;

  @Column({ type: 'timestamptz', name: 'updated_at' })
  updatedAt!: Date;

  /** Revision of the change that last wrote this row (set in that change's transaction; see docs/replication.md). */
  @Column({ type: 'bigint', default: 0 })
  revision!: string;
}
