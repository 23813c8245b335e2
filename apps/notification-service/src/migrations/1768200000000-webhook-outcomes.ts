import type { MigrationInterface, QueryRunner } from 'typeorm';

/** When each webhook destination last accepted a delivery, and last failed one (Cloudflare's last_success / last_failure). */
export class WebhookOutcomes1768200000000 implements MigrationInterface {
  name = 'WebhookOutcomes1768200000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "alert_webhooks" ADD "last_success_at" TIMESTAMP WITH TIME ZONE`);
    await q.query(`ALTER TABLE "alert_webhooks" ADD "last_failure_at" TIMESTAMP WITH TIME ZONE`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "alert_webhooks" DROP COLUMN "last_failure_at"`);
    await q.query(`ALTER TABLE "alert_webhooks" DROP COLUMN "last_success_at"`);
  }
}
