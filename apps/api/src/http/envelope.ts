/** Cloudflare's v4 response envelope. */
export interface Envelope<T> {
  success: boolean;
  errors: Array<{ code: number; message: string }>;
  messages: Array<{ code: number; message: string }>;
  result: T | null;
  result_info?: { page: number; per_page: number; count: number; total_count: number; total_pages: number };
}

export function ok<T>(result: T): Envelope<T> {
  return { success: true, errors: [], messages: [], result };
}

/**
 * `messages[].code` when `result_info.total_count` is a lower bound: a filter matched more rows than
 * the service counts (it counts up to 1,000 past the page; the list's pages go on past it).
 */
export const TOTAL_COUNT_LOWER_BOUND = 10_001;

export function okPage<T>(items: T[], page: { page: number; perPage: number; totalCount: number; totalCountExact?: boolean }): Envelope<T[]> {
  const bounded = page.totalCountExact === false;
  return {
    success: true,
    errors: [],
    messages: bounded
      ? [
          {
            code: TOTAL_COUNT_LOWER_BOUND,
            message: `At least ${page.totalCount} results match; total_count is a lower bound (narrow the filter for an exact count).`,
          },
        ]
      : [],
    result: items,
    result_info: {
      page: page.page,
      per_page: page.perPage,
      count: items.length,
      total_count: page.totalCount,
      total_pages: Math.max(1, Math.ceil(page.totalCount / page.perPage)),
    },
  };
}

export function failure(code: number, messages: string[]): Envelope<null> {
  return { success: false, errors: messages.map((message) => ({ code, message })), messages: [], result: null };
}
