import { z } from 'zod';
import { IsoDate, Uuid } from './common.js';
import { defineRpc, register } from './rpc.js';

export const Account = z.object({ id: Uuid, name: z.string(), createdAt: IsoDate });
export type Account = z.infer<typeof Account>;

export const AccountName = z.string().trim().min(1, 'must not be empty').max(255, 'must be at most 255 characters');

export const ListAccounts = register(defineRpc({ subject: 'accounts.v1.list', request: z.strictObject({}), response: z.array(Account) }));
export const GetAccount = register(
  defineRpc({ subject: 'accounts.v1.get', request: z.strictObject({ accountId: Uuid }), response: Account, errors: ['NOT_FOUND'] }),
);
export const CreateAccount = register(defineRpc({ subject: 'accounts.v1.create', request: z.strictObject({ name: AccountName }), response: Account }));
