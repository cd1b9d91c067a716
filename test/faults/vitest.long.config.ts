// `npm run test:faults`: the long fault matrix and load runs, which npm test leaves out.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/faults/**/*.long-test.ts'],
    testTimeout: 4 * 60 * 60_000,
    pool: 'forks',
  },
});
