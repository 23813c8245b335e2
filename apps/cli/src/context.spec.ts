import { ExitCode } from './errors.js';
import { pickOne } from './context.js';

const items = [
  { id: '11111111-1111-4111-8111-111111111111', name: 'ci' },
  { id: '22222222-2222-4222-8222-222222222222', name: 'deploy' },
  { id: '33333333-3333-4333-8333-333333333333', name: 'deploy' },
  { id: '44444444-4444-4444-8444-444444444444', name: 'ci-nightly' },
];
const failure = (ref: string) => {
  try {
    pickOne(items, ref, 'service token');
  } catch (e) {
    return e as { exitCode: number; message: string };
  }
  throw new Error('expected a failure');
};

describe('pickOne (a name resolves to exactly one item)', () => {
  it('takes an id or a unique exact name', () => {
    expect(pickOne(items, '44444444-4444-4444-8444-444444444444', 'x').name).toBe('ci-nightly');
    expect(pickOne(items, 'ci', 'x').id).toBe(items[0]!.id);
  });

  it('refuses a shared name as a usage error listing every id', () => {
    const e = failure('deploy');
    expect(e.exitCode).toBe(ExitCode.USAGE);
    expect(e.message).toContain(items[1]!.id);
    expect(e.message).toContain(items[2]!.id);
  });

  it('refuses an unknown name, suggesting names that contain it', () => {
    const e = failure('nightly');
    expect(e.exitCode).toBe(ExitCode.REFUSED);
    expect(e.message).toMatch(/No service token is named or has the id "nightly"; did you mean/);
    expect(e.message).toContain(items[3]!.id);
    expect(failure('zzz').message).toBe('No service token is named or has the id "zzz"');
  });
});
