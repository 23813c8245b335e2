import { Controller } from '@nestjs/common';
import { EventPattern, MessagePattern, Payload } from '@nestjs/microservices';
import {
  CreateServiceToken,
  DeleteServiceToken,
  GetServiceToken,
  ListServiceTokens,
  RefreshServiceToken,
  RotateServiceToken,
  TokensSeen,
  UpdateServiceToken,
  type PayloadOf,
  type RequestOf,
} from '@gatehouse/contracts';
import { ContractPipe } from '@gatehouse/nest-kit';
import { TokensService } from './tokens.service.js';

@Controller()
export class TokensHandler {
  constructor(private readonly tokens: TokensService) {}

  @MessagePattern(CreateServiceToken.subject)
  create(@Payload(new ContractPipe(CreateServiceToken.request)) req: RequestOf<typeof CreateServiceToken>) {
    return this.tokens.create(req.accountId, req.name, req.duration, req.actor, req.enabled);
  }

  @MessagePattern(ListServiceTokens.subject)
  list(@Payload(new ContractPipe(ListServiceTokens.request)) req: RequestOf<typeof ListServiceTokens>) {
    const filter = {
      name: req.name,
      search: req.search,
      expiresAfter: req.expiresAfter ? new Date(req.expiresAfter) : undefined,
      expiresBefore: req.expiresBefore ? new Date(req.expiresBefore) : undefined,
    };
    return this.tokens.list(req.accountId, filter, req.page ?? 1, req.perPage ?? 20);
  }

  @MessagePattern(GetServiceToken.subject)
  get(@Payload(new ContractPipe(GetServiceToken.request)) req: RequestOf<typeof GetServiceToken>) {
    return this.tokens.get(req.accountId, req.tokenId);
  }

  @MessagePattern(UpdateServiceToken.subject)
  update(@Payload(new ContractPipe(UpdateServiceToken.request)) req: RequestOf<typeof UpdateServiceToken>) {
    return this.tokens.update(req);
  }

  @MessagePattern(RefreshServiceToken.subject)
  refresh(@Payload(new ContractPipe(RefreshServiceToken.request)) req: RequestOf<typeof RefreshServiceToken>) {
    return this.tokens.refresh(req.accountId, req.tokenId, req.actor);
  }

  @MessagePattern(RotateServiceToken.subject)
  rotate(@Payload(new ContractPipe(RotateServiceToken.request)) req: RequestOf<typeof RotateServiceToken>) {
    return this.tokens.rotate(req.accountId, req.tokenId, req.previousClientSecretExpiresAt, req.actor);
  }

  @MessagePattern(DeleteServiceToken.subject)
  delete(@Payload(new ContractPipe(DeleteServiceToken.request)) req: RequestOf<typeof DeleteServiceToken>) {
    return this.tokens.delete(req.accountId, req.tokenId, req.actor);
  }

  @EventPattern<string>(TokensSeen.subject)
  async seen(@Payload(new ContractPipe(TokensSeen.payload)) event: PayloadOf<typeof TokensSeen>) {
    await this.tokens.markSeen(event.seen);
  }
}
