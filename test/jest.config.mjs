import { jestConfig } from '../jest.base.mjs';
export default jestConfig({ testMatch: ['<rootDir>/e2e/**/*.e2e-spec.ts'], testTimeout: 60_000 });
