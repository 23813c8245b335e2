import type { RpcClient } from '@gatehouse/nest-kit';

/** The API's one way out: typed NATS requests to the services. */
export const RPC = Symbol('RPC');
export type { RpcClient };
