import { jestConfig } from '../../jest.base.mjs';
export default jestConfig({ testMatch: ['<rootDir>/src/**/*.spec.ts', '<rootDir>/test/**/*.int-spec.ts'] });
