import { useEffect, useRef } from 'react';
import { CopyButton } from './ui';

/**
 * Shows a freshly issued secret. The secret is only ever in the parent's component state: never in
 * storage, the URL or history state, so reload and Back cannot bring it back.
 */
export function SecretReveal({ clientId, clientSecret, onClose, title }: { clientId: string; clientSecret: string; onClose(): void; title: string }) {
  const ref = useRef<HTMLHeadingElement>(null);
  useEffect(() => ref.current?.focus(), []);
  const headers = `CF-Access-Client-Id: ${clientId}\nCF-Access-Client-Secret: ${clientSecret}`;
  return (
    <section className="card secret-card" aria-labelledby="secret-title">
      <h2 id="secret-title" ref={ref} tabIndex={-1}>
        {title}
      </h2>
      <p className="warning" role="note">
        <strong>Copy the Client Secret now.</strong> This is the only time it is shown: Gatehouse stores only a hash of it. If you lose it, rotate the secret to
        issue a new one.
      </p>
      <div className="secret-field">
        <span className="secret-label" id="client-id-label">
          Client ID
        </span>
        <code className="secret-value" aria-labelledby="client-id-label" data-testid="client-id">
          {clientId}
        </code>
        <CopyButton text={clientId} label="Copy Client ID" />
      </div>
      <div className="secret-field">
        <span className="secret-label" id="client-secret-label">
          Client Secret
        </span>
        <code className="secret-value" aria-labelledby="client-secret-label" data-testid="client-secret">
          {clientSecret}
        </code>
        <CopyButton text={clientSecret} label="Copy Client Secret" />
      </div>
      <div className="secret-field">
        <span className="secret-label" id="headers-label">
          Request headers
        </span>
        <pre className="secret-value" aria-labelledby="headers-label">
          {headers}
        </pre>
        <CopyButton text={headers} label="Copy headers" />
      </div>
      <div className="actions">
        <button type="button" className="btn btn-primary" onClick={onClose}>
          Close
        </button>
      </div>
    </section>
  );
}
