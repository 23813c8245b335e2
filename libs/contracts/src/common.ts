import { z } from 'zod';

/**
 * A UUID as PostgreSQL's `uuid` type takes it: 8-4-4-4-12 hex digits, any version and variant
 * bits. `z.uuid()` also checks RFC 9562's version and variant: a row whose id was written by hand
 * or imported with other bits then broke every replica page that named it (the page's cursor and
 * records carry ids), and no replica ever loaded.
 */
export const Uuid = z.guid({ message: 'must be a UUID' });
/** ISO-8601 timestamps cross the wire as strings (UTC, with offset). */
export const IsoDate = z.iso.datetime({ offset: true, message: 'must be an ISO-8601 date-time' });

/** Who made a change: the admin API's caller, or the system itself (a schedule, a resync). */
export const Actor = z.object({
  type: z.enum(['admin', 'system', 'service_token']),
  id: z.string().max(255),
  ip: z.string().max(64).optional(),
});
export type Actor = z.infer<typeof Actor>;

export const PageRequest = z.object({
  page: z.number().int().min(1).max(1_000_000).default(1),
  perPage: z.number().int().min(1).max(1000).default(20),
});

export function pageOf<T extends z.ZodType>(item: T) {
  return z.object({
    items: z.array(item),
    page: z.number().int(),
    perPage: z.number().int(),
    totalCount: z.number().int(),
  });
}
export interface Page<T> {
  items: T[];
  page: number;
  perPage: number;
  totalCount: number;
}
