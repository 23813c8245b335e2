import type { Msg, NatsConnection } from '@nats-io/transport-node';
import { encodeBinaryReply } from '@gatehouse/nest-kit';
import {
  ReplicaChangesCompact,
  ReplicaHead,
  tokenRowOf,
  TokenRows,
  type Application,
  type Organization,
  type Policy,
  type VerifierToken,
} from '@gatehouse/contracts';

export interface FeedState {
  revision: number;
  tokens: VerifierToken[];
  apps: Application[];
  policies: Policy[];
  organizations?: Organization[];
}

/**
 * A stand-in token service on `replica.v3.changes` and `replica.v2.head`: every record of the
 * current state carries its revision, in one page (empty when the caller is already current);
 * tokens as v3 rows.
 */
export function serveChangeFeed(nc: NatsConnection, state: () => FeedState, onPull: () => void = () => undefined): void {
  const answer = (m: Msg, response: unknown) => m.respond(JSON.stringify({ id: m.json<{ id: string }>().id, response, isDisposed: true }));
  nc.subscribe(ReplicaChangesCompact.subject, {
    callback: (_e, m) => {
      onPull();
      const { since } = m.json<{ data: { since: number } }>().data;
      const s = state();
      const revision = s.revision;
      const current = since >= revision;
      const tokens = current ? [] : s.tokens.map((token) => tokenRowOf(token, revision));
      const records = current
        ? []
        : [
            ...s.apps.map((app) => ({ type: 'app', revision, app })),
            ...s.policies.map((policy) => ({ type: 'policy', revision, policy })),
            ...(s.organizations ?? []).map((organization) => ({ type: 'organization', revision, organization })),
          ];
      void m.respond(
        encodeBinaryReply({
          id: m.json<{ id: string }>().id,
          response: { head: revision, floor: 0, records, tokens: TokenRows.encode(tokens), next: null },
          isDisposed: true,
        })!,
      );
    },
  });
  nc.subscribe(ReplicaHead.subject, { callback: (_e, m) => void answer(m, { head: state().revision }) });
}
