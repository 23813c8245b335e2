import { useCallback, useState } from 'react';
import { errorText } from './api';

/**
 * One user action's state (a save, a delete, a rotation): `run` clears the last error, marks the
 * action busy while it runs, and keeps a failure's message (the API's, in words) for an ErrorBox.
 */
export function useAction(): { busy: boolean; error: string | null; run(fn: () => Promise<void>): Promise<void> } {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const run = useCallback(async (fn: () => Promise<void>) => {
    setBusy(true);
    setError(null);
    try {
      await fn();
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  }, []);
  return { busy, error, run };
}
