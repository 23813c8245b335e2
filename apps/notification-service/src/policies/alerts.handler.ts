import { Controller, Inject } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import {
  CreateAlertPolicy,
  CreateWebhookDestination,
  DeleteAlertPolicy,
  DeleteWebhookDestination,
  GetAlertPolicy,
  GetWebhookDestination,
  ListAlertHistory,
  ListAlertPolicies,
  ListWebhookDestinations,
  UpdateAlertPolicy,
  UpdateWebhookDestination,
  type RequestOf,
} from '@gatehouse/contracts';
import { ContractPipe } from '@gatehouse/nest-kit';
import { HistoryService } from '../deliveries/history.service.js';
import { PoliciesService } from './policies.service.js';

@Controller()
export class AlertsHandler {
  constructor(
    @Inject(PoliciesService) private readonly policies: PoliciesService,
    @Inject(HistoryService) private readonly history: HistoryService,
  ) {}

  @MessagePattern(CreateAlertPolicy.subject)
  createPolicy(@Payload(new ContractPipe(CreateAlertPolicy.request)) { accountId, ...input }: RequestOf<typeof CreateAlertPolicy>) {
    return this.policies.createPolicy(accountId, input);
  }

  @MessagePattern(ListAlertPolicies.subject)
  listPolicies(@Payload(new ContractPipe(ListAlertPolicies.request)) req: RequestOf<typeof ListAlertPolicies>) {
    return this.policies.listPolicies(req.accountId);
  }

  @MessagePattern(GetAlertPolicy.subject)
  getPolicy(@Payload(new ContractPipe(GetAlertPolicy.request)) req: RequestOf<typeof GetAlertPolicy>) {
    return this.policies.getPolicy(req.accountId, req.policyId);
  }

  @MessagePattern(UpdateAlertPolicy.subject)
  updatePolicy(@Payload(new ContractPipe(UpdateAlertPolicy.request)) { accountId, policyId, ...input }: RequestOf<typeof UpdateAlertPolicy>) {
    return this.policies.updatePolicy(accountId, policyId, input);
  }

  @MessagePattern(DeleteAlertPolicy.subject)
  deletePolicy(@Payload(new ContractPipe(DeleteAlertPolicy.request)) req: RequestOf<typeof DeleteAlertPolicy>) {
    return this.policies.deletePolicy(req.accountId, req.policyId);
  }

  @MessagePattern(CreateWebhookDestination.subject)
  createWebhook(@Payload(new ContractPipe(CreateWebhookDestination.request)) { accountId, ...input }: RequestOf<typeof CreateWebhookDestination>) {
    return this.policies.createWebhook(accountId, input);
  }

  @MessagePattern(ListWebhookDestinations.subject)
  listWebhooks(@Payload(new ContractPipe(ListWebhookDestinations.request)) req: RequestOf<typeof ListWebhookDestinations>) {
    return this.policies.listWebhooks(req.accountId);
  }

  @MessagePattern(GetWebhookDestination.subject)
  getWebhook(@Payload(new ContractPipe(GetWebhookDestination.request)) req: RequestOf<typeof GetWebhookDestination>) {
    return this.policies.getWebhook(req.accountId, req.webhookId);
  }

  @MessagePattern(UpdateWebhookDestination.subject)
  updateWebhook(@Payload(new ContractPipe(UpdateWebhookDestination.request)) { accountId, webhookId, ...input }: RequestOf<typeof UpdateWebhookDestination>) {
    return this.policies.updateWebhook(accountId, webhookId, input);
  }

  @MessagePattern(DeleteWebhookDestination.subject)
  deleteWebhook(@Payload(new ContractPipe(DeleteWebhookDestination.request)) req: RequestOf<typeof DeleteWebhookDestination>) {
    return this.policies.deleteWebhook(req.accountId, req.webhookId);
  }

  @MessagePattern(ListAlertHistory.subject)
  listHistory(@Payload(new ContractPipe(ListAlertHistory.request)) req: RequestOf<typeof ListAlertHistory>) {
    return this.history.list(req.accountId, { tokenId: req.tokenId, since: req.since, before: req.before }, req.page ?? 1, req.perPage ?? 20);
  }
}
