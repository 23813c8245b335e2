import type { Clock } from '@gatehouse/nest-kit';

/** A clock tests can advance: real time plus an adjustable offset. */
export class OffsetClock implements Clock {
  private offsetMs = 0;
  now(): Date {
    return new Date(Date.now() + this.offsetMs);
  }
  advance(ms: number): void {
    this.offsetMs += ms;
  }
}
