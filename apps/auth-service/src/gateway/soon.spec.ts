import { then } from './soon.js';

describe('then (a value now, or a promise of it)', () => {
  it('applies the next step at once to a value', () => {
    const order: string[] = [];
    const out = then(2, (n) => {
      order.push('next');
      return n * 3;
    });
    order.push('after');
    expect(out).toBe(6);
    expect(order).toEqual(['next', 'after']);
  });

  it('applies it when a promise settles, and returns a promise', async () => {
    const order: string[] = [];
    const out = then(Promise.resolve(2), (n) => {
      order.push('next');
      return n * 3;
    });
    order.push('after');
    expect(out).toBeInstanceOf(Promise);
    await expect(out).resolves.toBe(6);
    expect(order).toEqual(['after', 'next']);
  });

  it('chains a step that is itself asynchronous', async () => {
    const out = then(
      then(1, (n) => Promise.resolve(n + 1)),
      (n) => n * 10,
    );
    await expect(out).resolves.toBe(20);
  });

  it('throws a failing step on a value to the caller, and rejects on a promise', async () => {
    const fail = (): number => {
      throw new Error('step failed');
    };
    expect(() => then(1, fail)).toThrow('step failed');
    await expect(then(Promise.resolve(1), fail)).rejects.toThrow('step failed');
    await expect(then(Promise.reject(new Error('earlier')), fail)).rejects.toThrow('earlier');
  });
});
