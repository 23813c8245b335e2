import { Check, Column, Entity, Index, PrimaryColumn } from 'typeorm';

/**
 * The JWT signing keys every gateway replica shares. The KeyRing reads and writes them with SQL
 * of its own (./key-ring.ts); the entity describes the table for the migrations' drift check.
 */
@Entity('signing_keys')
@Index('signing_keys_activates_at', ['activatesAt'])
export class SigningKeyEntity {
  @PrimaryColumn({ type: 'text', primaryKeyConstraintName: 'PK_signing_keys' })
  kid!: string;

  @Column({ type: 'text', default: 'RS256' })
  alg!: string;

  @Column({ type: 'text', name: 'public_key_pem' })
  publicKeyPem!: string;

  @Column({ type: 'text', name: 'certificate_pem' })
  certificatePem!: string;

  /** The private key, encrypted with the key-encryption key (./key-crypto.ts). */
  @Column({ type: 'text', name: 'private_key_sealed' })
  privateKeySealed!: string;

  @Column({ type: 'timestamptz', name: 'created_at', default: () => 'now()' })
  createdAt!: Date;

  @Column({ type: 'timestamptz', name: 'activates_at' })
  activatesAt!: Date;
}

/** The rotation interval set through the API (access/keys): one row at most; without it, the environment's. */
@Entity('signing_key_settings')
@Check('signing_key_settings_one_row', '"id" = 1')
export class SigningKeySettingsEntity {
  @PrimaryColumn({ type: 'integer', default: 1, primaryKeyConstraintName: 'PK_signing_key_settings' })
  id!: number;

  @Column({ type: 'bigint', name: 'rotation_interval_ms' })
  rotationIntervalMs!: string;

  @Column({ type: 'timestamptz', name: 'updated_at', default: () => 'now()' })
  updatedAt!: Date;
}
