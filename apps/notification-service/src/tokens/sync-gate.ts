import { Injectable } from '@nestjs/common';

/** Shared by the replica (which opens it) and the scheduler (which waits for it). */
@Injectable()
export class SyncGate {
  /** True once the copy caught up with the token service's head since start: only then is it known to be current. */
  synced = false;
}
