import { Controller, Inject } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import {
  CreateReusablePolicy,
  DeleteReusablePolicy,
  GetReusablePolicy,
  ListReusablePolicies,
  ReusablePoliciesUsingToken,
  UpdateReusablePolicy,
  type RpcContract,
} from '@gatehouse/contracts';
import { ContractPipe } from '@gatehouse/nest-kit';
import type { z } from 'zod';
import { ReusablePoliciesService } from './reusable-policies.service.js';

type Req<C extends RpcContract> = z.infer<C['request']>;

@Controller()
export class ReusablePoliciesHandler {
  constructor(@Inject(ReusablePoliciesService) private readonly policies: ReusablePoliciesService) {}

  @MessagePattern(CreateReusablePolicy.subject)
  create(@Payload(new ContractPipe(CreateReusablePolicy.request)) req: Req<typeof CreateReusablePolicy>) {
    return this.policies.create(req);
  }

  @MessagePattern(ListReusablePolicies.subject)
  list(@Payload(new ContractPipe(ListReusablePolicies.request)) req: Req<typeof ListReusablePolicies>) {
    return this.policies.list(req.accountId, req.page, req.perPage);
  }

  @MessagePattern(GetReusablePolicy.subject)
  get(@Payload(new ContractPipe(GetReusablePolicy.request)) req: Req<typeof GetReusablePolicy>) {
    return this.policies.get(req.accountId, req.policyId);
  }

  @MessagePattern(UpdateReusablePolicy.subject)
  update(@Payload(new ContractPipe(UpdateReusablePolicy.request)) req: Req<typeof UpdateReusablePolicy>) {
    return this.policies.update(req);
  }

  @MessagePattern(DeleteReusablePolicy.subject)
  delete(@Payload(new ContractPipe(DeleteReusablePolicy.request)) req: Req<typeof DeleteReusablePolicy>) {
    return this.policies.delete(req.accountId, req.policyId, req.actor);
  }

  @MessagePattern(ReusablePoliciesUsingToken.subject)
  usingToken(@Payload(new ContractPipe(ReusablePoliciesUsingToken.request)) req: Req<typeof ReusablePoliciesUsingToken>) {
    return this.policies.usingToken(req.accountId, req.tokenId);
  }
}
