import { useId } from 'react';
import { DURATION_PRESETS, durationError } from '../lib/format';

/** Duration presets as radio buttons, plus a validated custom Go duration. */
export function DurationPicker({
  value,
  onChange,
  error,
  legend = 'Duration',
}: {
  value: string;
  onChange(v: string): void;
  error?: string | null;
  legend?: string;
}) {
  const id = useId();
  const preset = DURATION_PRESETS.some((p) => p.value === value) ? value : 'custom';
  const custom = preset === 'custom' ? value : '';
  return (
    <fieldset className="field duration-picker">
      <legend>{legend}</legend>
      <div className="radio-row">
        {DURATION_PRESETS.map((p) => (
          <label key={p.value} className="radio">
            <input type="radio" name={`${id}-d`} value={p.value} checked={preset === p.value} onChange={() => onChange(p.value)} />
            {p.label}
          </label>
        ))}
        <label className="radio">
          <input type="radio" name={`${id}-d`} value="custom" checked={preset === 'custom'} onChange={() => onChange(custom || '')} />
          Custom
        </label>
      </div>
      {preset === 'custom' ? (
        <div className="field">
          <label htmlFor={`${id}-custom`}>Custom duration</label>
          <input
            id={`${id}-custom`}
            value={custom}
            placeholder="e.g. 720h or 36h30m"
            aria-describedby={`${id}-hint${error ? ` ${id}-err` : ''}`}
            aria-invalid={error ? true : undefined}
            onChange={(e) => onChange(e.target.value)}
          />
          <p className="hint" id={`${id}-hint`}>
            Hours, minutes and seconds as in Go: 720h is 30 days.
          </p>
        </div>
      ) : null}
      {error ? (
        <p className="field-error" id={`${id}-err`}>
          {error}
        </p>
      ) : null}
    </fieldset>
  );
}

export const validateDuration = (v: string) => (v === '' ? 'Enter a custom duration, such as 720h.' : durationError(v));
