import { Controller, Inject } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import {
  CreateApplication,
  CreatePolicy,
  DeleteApplication,
  DeletePolicy,
  GetApplication,
  GetPolicy,
  ListApplications,
  ListPolicies,
  PoliciesUsingToken,
  ReplicaChanges,
  ReplicaChangesCompact,
  ReplicaHead,
  RevokeApplicationSessions,
  UpdateApplication,
  UpdatePolicy,
  type RpcContract,
} from '@gatehouse/contracts';
import { ContractPipe } from '@gatehouse/nest-kit';
import type { z } from 'zod';
import { ApplicationsService } from './applications.service.js';
import { PoliciesService } from './policies.service.js';
import { ReplicaService } from './replica.service.js';

/** What ContractPipe hands over: the parsed request (defaults applied). */
type Req<C extends RpcContract> = z.infer<C['request']>;

@Controller()
export class ApplicationsHandler {
  constructor(
    @Inject(ApplicationsService) private readonly apps: ApplicationsService,
    @Inject(PoliciesService) private readonly policies: PoliciesService,
    @Inject(ReplicaService) private readonly replica: ReplicaService,
  ) {}

  @MessagePattern(CreateApplication.subject)
  create(@Payload(new ContractPipe(CreateApplication.request)) req: Req<typeof CreateApplication>) {
    return this.apps.create(req);
  }

  @MessagePattern(ListApplications.subject)
  list(@Payload(new ContractPipe(ListApplications.request)) req: Req<typeof ListApplications>) {
    return this.apps.list(req.accountId, req.page, req.perPage);
  }

  @MessagePattern(GetApplication.subject)
  get(@Payload(new ContractPipe(GetApplication.request)) req: Req<typeof GetApplication>) {
    return this.apps.get(req.accountId, req.appId);
  }

  @MessagePattern(UpdateApplication.subject)
  update(@Payload(new ContractPipe(UpdateApplication.request)) req: Req<typeof UpdateApplication>) {
    return this.apps.update(req);
  }

  @MessagePattern(DeleteApplication.subject)
  delete(@Payload(new ContractPipe(DeleteApplication.request)) req: Req<typeof DeleteApplication>) {
    return this.apps.delete(req.accountId, req.appId, req.actor);
  }

  @MessagePattern(RevokeApplicationSessions.subject)
  revokeSessions(@Payload(new ContractPipe(RevokeApplicationSessions.request)) req: Req<typeof RevokeApplicationSessions>) {
    return this.apps.revokeSessions(req.accountId, req.appId, req.actor);
  }

  @MessagePattern(CreatePolicy.subject)
  createPolicy(@Payload(new ContractPipe(CreatePolicy.request)) req: Req<typeof CreatePolicy>) {
    return this.policies.create(req);
  }

  @MessagePattern(ListPolicies.subject)
  listPolicies(@Payload(new ContractPipe(ListPolicies.request)) req: Req<typeof ListPolicies>) {
    return this.policies.list(req.accountId, req.appId);
  }

  @MessagePattern(GetPolicy.subject)
  getPolicy(@Payload(new ContractPipe(GetPolicy.request)) req: Req<typeof GetPolicy>) {
    return this.policies.get(req.accountId, req.appId, req.policyId);
  }

  @MessagePattern(UpdatePolicy.subject)
  updatePolicy(@Payload(new ContractPipe(UpdatePolicy.request)) req: Req<typeof UpdatePolicy>) {
    return this.policies.update(req);
  }

  @MessagePattern(DeletePolicy.subject)
  deletePolicy(@Payload(new ContractPipe(DeletePolicy.request)) req: Req<typeof DeletePolicy>) {
    return this.policies.delete(req.accountId, req.appId, req.policyId, req.actor);
  }

  @MessagePattern(PoliciesUsingToken.subject)
  usingToken(@Payload(new ContractPipe(PoliciesUsingToken.request)) req: Req<typeof PoliciesUsingToken>) {
    return this.policies.usingToken(req.accountId, req.tokenId);
  }

  @MessagePattern(ReplicaChanges.subject)
  changes(@Payload(new ContractPipe(ReplicaChanges.request)) req: Req<typeof ReplicaChanges>) {
    return this.replica.changes(req);
  }

  @MessagePattern(ReplicaChangesCompact.subject)
  changesCompact(@Payload(new ContractPipe(ReplicaChangesCompact.request)) req: Req<typeof ReplicaChangesCompact>) {
    return this.replica.changesCompact(req);
  }

  @MessagePattern(ReplicaHead.subject)
  head(@Payload(new ContractPipe(ReplicaHead.request)) _req: Req<typeof ReplicaHead>) {
    return this.replica.head();
  }
}
