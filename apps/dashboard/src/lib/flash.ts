/** A one-shot message for the next page ("Deleted token x"), kept in memory only. */
let pending: string | null = null;
export const setFlash = (m: string) => {
  pending = m;
};
export const takeFlash = () => {
  const m = pending;
  pending = null;
  return m;
};
