import { Controller, Inject } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import { GetOrganization, ListAccessRequests, UpdateOrganization, type RpcContract } from '@gatehouse/contracts';
import { ContractPipe } from '@gatehouse/nest-kit';
import type { z } from 'zod';
import { AccountsRepository } from '../accounts/accounts.repository.js';
import { requireAccount } from '../accounts/require-account.js';
import { AccessRequestsRepository } from '../audit/access-requests.repository.js';
import { OrganizationsService } from './organizations.service.js';

type Req<C extends RpcContract> = z.infer<C['request']>;

/** Access organization and the access request log (Cloudflare's account-level Access routes). */
@Controller()
export class OrganizationsHandler {
  constructor(
    @Inject(OrganizationsService) private readonly orgs: OrganizationsService,
    @Inject(AccessRequestsRepository) private readonly requests: AccessRequestsRepository,
    @Inject(AccountsRepository) private readonly accounts: AccountsRepository,
  ) {}

  @MessagePattern(GetOrganization.subject)
  get(@Payload(new ContractPipe(GetOrganization.request)) req: Req<typeof GetOrganization>) {
    return this.orgs.get(req.accountId);
  }

  @MessagePattern(UpdateOrganization.subject)
  update(@Payload(new ContractPipe(UpdateOrganization.request)) req: Req<typeof UpdateOrganization>) {
    return this.orgs.update(req);
  }

  @MessagePattern(ListAccessRequests.subject)
  async accessRequests(@Payload(new ContractPipe(ListAccessRequests.request)) req: Req<typeof ListAccessRequests>) {
    await requireAccount(this.accounts, req.accountId);
    const { items, total } = await this.requests.list(req.accountId, {
      since: req.since ? new Date(req.since) : undefined,
      until: req.until ? new Date(req.until) : undefined,
      direction: req.direction,
      rayId: req.rayId,
      limit: req.limit,
      page: req.page,
      perPage: req.perPage,
    });
    return { items, page: req.page, perPage: req.perPage, totalCount: total };
  }
}
