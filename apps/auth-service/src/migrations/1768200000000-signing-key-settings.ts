import type { MigrationInterface, QueryRunner } from 'typeorm';
import { ranBeforeTypeOrm } from './legacy-runner.js';

/** The rotation interval set through the API (access/keys); without a row, the environment's. */
export class SigningKeySettings1768200000000 implements MigrationInterface {
  name = 'SigningKeySettings1768200000000';

  async up(q: QueryRunner): Promise<void> {
    if (await ranBeforeTypeOrm(q, '1768200000000-signing-key-settings')) return;
    await q.query(`CREATE TABLE "signing_key_settings" (
      "id" integer NOT NULL DEFAULT 1,
      "rotation_interval_ms" bigint NOT NULL,
      "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
      CONSTRAINT "PK_signing_key_settings" PRIMARY KEY ("id"),
      CONSTRAINT "signing_key_settings_one_row" CHECK ("id" = 1))`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE "signing_key_settings"`);
  }
}
