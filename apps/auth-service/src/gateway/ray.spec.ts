import { RayIds } from './ray.js';

describe('RayIds', () => {
  it('gives 16 lowercase hex digits, distinct within a process and (by prefix) across processes', () => {
    const a = new RayIds();
    const b = new RayIds();
    const ids = Array.from({ length: 10_000 }, () => a.next());
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{16}$/);
    expect(new Set(ids).size).toBe(ids.length);
    expect(b.next().slice(0, 8)).not.toBe(a.next().slice(0, 8));
  });
});
