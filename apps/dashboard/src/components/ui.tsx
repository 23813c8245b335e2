import { createContext, useContext, useEffect, useId, useRef, useState, type ReactNode } from 'react';
import { Link, useLocation } from '../lib/router';
import { EXPIRY_MARKS, formatCount, tokenStatus, type TokenStatus } from '../lib/format';
import type { ResultInfo } from '../lib/api';

/** A labelled input with hint and inline error, wired with aria-describedby/aria-invalid. */
export function Field(props: {
  label: string;
  value: string;
  onChange(v: string): void;
  error?: string | null;
  hint?: ReactNode;
  type?: string;
  placeholder?: string;
  required?: boolean;
  autoFocus?: boolean;
  autoComplete?: string;
  name?: string;
  inputMode?: 'text' | 'email' | 'url';
}) {
  const id = useId();
  const hintId = `${id}-hint`;
  const errId = `${id}-err`;
  const describedBy = [props.hint ? hintId : '', props.error ? errId : ''].filter(Boolean).join(' ') || undefined;
  return (
    <div className="field">
      <label htmlFor={id}>
        {props.label}
        {props.required ? <span aria-hidden="true"> *</span> : null}
      </label>
      <input
        id={id}
        name={props.name}
        type={props.type ?? 'text'}
        value={props.value}
        placeholder={props.placeholder}
        required={props.required}
        autoFocus={props.autoFocus}
        autoComplete={props.autoComplete ?? 'off'}
        inputMode={props.inputMode}
        aria-invalid={props.error ? true : undefined}
        aria-describedby={describedBy}
        onChange={(e) => props.onChange(e.target.value)}
      />
      {props.hint ? (
        <p className="hint" id={hintId}>
          {props.hint}
        </p>
      ) : null}
      {props.error ? (
        <p className="field-error" id={errId}>
          {props.error}
        </p>
      ) : null}
    </div>
  );
}

/** An API or form-level error, in words, announced to screen readers. */
export function ErrorBox({ error, title }: { error: string | null | undefined; title?: string }) {
  if (!error) return null;
  return (
    <div className="error-box" role="alert">
      {title ? <strong>{title} </strong> : null}
      {error}
    </div>
  );
}

/** A polite live region for results ("Token refreshed", "Showing 1–20 of 3 tokens"). */
export function Live({ children, className }: { children: ReactNode; className?: string }) {
  return (
    <div className={className ?? 'live'} role="status" aria-live="polite">
      {children}
    </div>
  );
}

export function StatusBadge({ token }: { token: { enabled: boolean; expires_at: string | null } }) {
  const status: TokenStatus = tokenStatus(token);
  return (
    <span className={`badge badge-${status.replace(' ', '-')}`} title={status === 'expiring soon' ? EXPIRY_MARKS : undefined}>
      {status}
    </span>
  );
}

async function writeClipboard(text: string): Promise<void> {
  try {
    await navigator.clipboard.writeText(text);
    return;
  } catch {
    // Fall back for browsers/contexts without the async clipboard API.
  }
  const area = document.createElement('textarea');
  area.value = text;
  area.setAttribute('readonly', '');
  area.style.position = 'fixed';
  area.style.opacity = '0';
  document.body.appendChild(area);
  area.select();
  const ok = document.execCommand('copy');
  area.remove();
  if (!ok) throw new Error('copy refused');
}

export function CopyButton({ text, label }: { text: string; label: string }) {
  const [state, setState] = useState<'idle' | 'copied' | 'failed'>('idle');
  useEffect(() => {
    if (state === 'idle') return;
    const t = setTimeout(() => setState('idle'), 2500);
    return () => clearTimeout(t);
  }, [state]);
  return (
    <span className="copy">
      <button
        type="button"
        className="btn btn-small"
        onClick={() =>
          writeClipboard(text).then(
            () => setState('copied'),
            () => setState('failed'),
          )
        }
      >
        {label}
      </button>
      <span role="status" aria-live="polite" className="copy-status">
        {state === 'copied' ? 'Copied' : state === 'failed' ? 'Copy failed: select the text and copy it by hand' : ''}
      </span>
    </span>
  );
}

/** A modal confirmation (native <dialog>: focus trap, Escape closes, focus returns). */
export function Dialog({ title, children, onClose }: { title: string; children: ReactNode; onClose(): void }) {
  const ref = useRef<HTMLDialogElement>(null);
  const id = useId();
  useEffect(() => {
    const d = ref.current;
    if (d && !d.open) d.showModal();
    return () => d?.close();
  }, []);
  return (
    <dialog
      ref={ref}
      className="dialog"
      aria-labelledby={id}
      onCancel={(e) => {
        e.preventDefault();
        onClose();
      }}
    >
      <h2 id={id}>{title}</h2>
      {children}
    </dialog>
  );
}

export function Pager({ info, onPage, noun }: { info: ResultInfo | undefined; onPage(p: number): void; noun: string }) {
  if (!info) return null;
  const first = info.total_count === 0 ? 0 : (info.page - 1) * info.per_page + 1;
  const last = (info.page - 1) * info.per_page + info.count;
  return (
    <nav className="pager" aria-label="Pages">
      <Live className="pager-text">
        {info.total_count === 0
          ? `No ${noun}`
          : `${formatCount(first)}–${formatCount(last)} of ${info.total_is_lower_bound ? 'at least ' : ''}${formatCount(info.total_count)} ${noun}`}
      </Live>
      <span className="pager-buttons">
        <button type="button" className="btn btn-small" disabled={info.page <= 1} onClick={() => onPage(info.page - 1)}>
          Previous
        </button>
        <span className="pager-page">
          Page {formatCount(info.page)} of {info.total_is_lower_bound ? 'at least ' : ''}
          {formatCount(info.total_pages)}
        </span>
        <button type="button" className="btn btn-small" disabled={info.page >= info.total_pages} onClick={() => onPage(info.page + 1)}>
          Next
        </button>
      </span>
    </nav>
  );
}

/** Debounces a changing value (search boxes). */
export function useDebounced<T>(value: T, ms: number): T {
  const [v, setV] = useState(value);
  useEffect(() => {
    const t = setTimeout(() => setV(value), ms);
    return () => clearTimeout(t);
  }, [value, ms]);
  return v;
}

/** The navigation entry the current page belongs to (set once by the shell from the path). */
export const SectionContext = createContext<{ label: string; to: string } | null>(null);

/**
 * The page's breadcrumb and main heading, the same on every page: "Access › <section>" (the
 * section a link on pages below it), then `parent` if given. Moves focus to the heading when a
 * page mounts (screen readers announce it).
 */
export function PageTitle({ children, parent }: { children: ReactNode; parent?: { label: string; to: string } }) {
  const ref = useRef<HTMLHeadingElement>(null);
  const section = useContext(SectionContext);
  const { path } = useLocation();
  useEffect(() => {
    ref.current?.focus();
    document.title = `${typeof children === 'string' ? children : 'Gatehouse'} · Gatehouse`;
  }, [children]);
  const trail: Array<{ label: string; to?: string }> = [{ label: 'Access' }];
  if (section) trail.push((path === section.to || path === '/') && !parent ? { label: section.label } : section);
  if (parent) trail.push(parent);
  return (
    <header className="page-title">
      <nav aria-label="Breadcrumb">
        <ol className="crumbs">
          {trail.map((c) => (
            <li key={c.label}>{c.to ? <Link to={c.to}>{c.label}</Link> : c.label}</li>
          ))}
        </ol>
      </nav>
      <h1 ref={ref} tabIndex={-1}>
        {children}
      </h1>
    </header>
  );
}

/** The page shown when the resource a page is about could not be loaded. */
export function LoadFailed({ title, error, back }: { title: string; error: string; back: { to: string; label: string } }) {
  return (
    <div className="page">
      <PageTitle>{title}</PageTitle>
      <ErrorBox error={error} />
      <Link to={back.to}>{back.label}</Link>
    </div>
  );
}

/** A confirmation dialog: what happens, the failure if any, the (dangerous) action and Cancel. */
export function ConfirmDialog({
  title,
  children,
  action,
  onConfirm,
  onClose,
  busy = false,
  error = null,
  errorTitle,
}: {
  title: string;
  children: ReactNode;
  action: string;
  onConfirm(): void;
  onClose(): void;
  busy?: boolean;
  error?: string | null;
  errorTitle?: string;
}) {
  return (
    <Dialog title={title} onClose={onClose}>
      {children}
      <ErrorBox error={error} title={errorTitle} />
      <div className="actions">
        <button type="button" className="btn btn-danger" onClick={onConfirm} disabled={busy}>
          {action}
        </button>
        <button type="button" className="btn" onClick={onClose} autoFocus>
          Cancel
        </button>
      </div>
    </Dialog>
  );
}
