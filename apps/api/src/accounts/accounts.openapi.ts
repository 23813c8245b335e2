import { openApiPaths } from '../docs/operations.js';
import { CfAccount, CreateAccountBody, ListAccountsQuery } from './accounts.controller.js';

export const accountsOpenApi = openApiPaths('Accounts', [
  { method: 'get', path: '/client/v4/accounts', summary: 'List accounts', query: ListAccountsQuery, result: CfAccount, page: true },
  { method: 'post', path: '/client/v4/accounts', summary: 'Create an account', body: CreateAccountBody, result: CfAccount },
  { method: 'get', path: '/client/v4/accounts/{account_id}', summary: 'Get an account', result: CfAccount },
]);
