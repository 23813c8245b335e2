/**
 * A secret that differs from `secret` in its last character only. Swapping in a fixed character
 * (`slice(0, -1) + 'x'`) returns the same secret whenever it already ends in that character,
 * which made "a wrong secret is refused" fail about once in 64 runs.
 */
export function wrongSecret(secret: string): string {
  const last = secret.slice(-1);
  return `${secret.slice(0, -1)}${last === 'x' ? 'y' : 'x'}`;
}
