/**
 * The auth service's schema: its own tables, `signing_keys` and `signing_key_settings`. Plain SQL migrations run by
 * `dist/migrate.js` (no ORM: one table does not need one), in order, each in a transaction, under
 * an advisory lock so concurrent starts do not race.
 */
export interface Migration {
  name: string;
  up: string[];
  down: string[];
}

export const migrations: Migration[] = [
  {
    name: '1767312000000-signing-keys',
    up: [
      `CREATE TABLE "signing_keys" (
        "kid" text NOT NULL,
        "alg" text NOT NULL DEFAULT 'RS256',
        "public_key_pem" text NOT NULL,
        "certificate_pem" text NOT NULL,
        "private_key_sealed" text NOT NULL,
        "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
        "activates_at" TIMESTAMP WITH TIME ZONE NOT NULL,
        CONSTRAINT "PK_signing_keys" PRIMARY KEY ("kid"))`,
      `CREATE INDEX "signing_keys_activates_at" ON "signing_keys" ("activates_at")`,
    ],
    down: [`DROP INDEX "signing_keys_activates_at"`, `DROP TABLE "signing_keys"`],
  },
  {
    // The rotation interval set through the API (access/keys); without a row, the environment's.
    name: '1768200000000-signing-key-settings',
    up: [
      `CREATE TABLE "signing_key_settings" (
        "id" integer NOT NULL DEFAULT 1,
        "rotation_interval_ms" bigint NOT NULL,
        "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
        CONSTRAINT "PK_signing_key_settings" PRIMARY KEY ("id"),
        CONSTRAINT "signing_key_settings_one_row" CHECK ("id" = 1))`,
    ],
    down: [`DROP TABLE "signing_key_settings"`],
  },
];
