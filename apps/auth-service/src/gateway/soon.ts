/**
 * A value now, or a promise of it: what the gateway's admission steps return, so that a request
 * whose every step is answered from what is cached (the common one: a known token's reused JWT,
 * a verified JWT) is decided in one synchronous call, without a promise per step and a microtask
 * per await (docs/performance.md, "Session 16").
 */
export type Soon<T> = T | Promise<T>;

/**
 * `next` applied to `value`: at once when it is a value, when it settles when it is a promise. A
 * throw from `next` on a value is thrown to the caller (as `then` would reject): the caller's
 * caller handles both (./server.ts `answer`).
 */
export function then<T, U>(value: Soon<T>, next: (value: T) => Soon<U>): Soon<U> {
  return value instanceof Promise ? value.then(next) : next(value);
}
