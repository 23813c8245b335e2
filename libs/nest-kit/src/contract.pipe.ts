import { Injectable, type PipeTransform } from '@nestjs/common';
import { parseOrThrow } from '@gatehouse/contracts';
import type { z } from 'zod';

/** Validates an incoming payload against its contract schema (the server side of "both sides validate"). */
@Injectable()
export class ContractPipe<S extends z.ZodType> implements PipeTransform<unknown, z.infer<S>> {
  constructor(private readonly schema: S) {}

  transform(value: unknown): z.infer<S> {
    return parseOrThrow(this.schema, value);
  }
}
