import { DeliveryEntity } from '../deliveries/delivery.entity.js';
import { AlertPolicyEntity, WebhookDestinationEntity } from '../policies/alert-policy.entity.js';
import { AlertTokenEntity, SyncStateEntity } from '../tokens/alert-token.entity.js';

export const entities = [AlertTokenEntity, SyncStateEntity, AlertPolicyEntity, WebhookDestinationEntity, DeliveryEntity];
