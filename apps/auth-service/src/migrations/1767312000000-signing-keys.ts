import type { MigrationInterface, QueryRunner } from 'typeorm';
import { ranBeforeTypeOrm } from './legacy-runner.js';

export class SigningKeys1767312000000 implements MigrationInterface {
  name = 'SigningKeys1767312000000';

  async up(q: QueryRunner): Promise<void> {
    if (await ranBeforeTypeOrm(q, '1767312000000-signing-keys')) return;
    await q.query(`CREATE TABLE "signing_keys" (
      "kid" text NOT NULL,
      "alg" text NOT NULL DEFAULT 'RS256',
      "public_key_pem" text NOT NULL,
      "certificate_pem" text NOT NULL,
      "private_key_sealed" text NOT NULL,
      "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
      "activates_at" TIMESTAMP WITH TIME ZONE NOT NULL,
      CONSTRAINT "PK_signing_keys" PRIMARY KEY ("kid"))`);
    await q.query(`CREATE INDEX "signing_keys_activates_at" ON "signing_keys" ("activates_at")`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX "public"."signing_keys_activates_at"`);
    await q.query(`DROP TABLE "signing_keys"`);
  }
}
