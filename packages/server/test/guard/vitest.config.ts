/** The guard's fixture alone, with the same setup files as every suite (../../../../vitest.config.ts). */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';
import base from '../../../../vitest.config.js';

export default defineConfig({
  root: fileURLToPath(new URL('../../../../', import.meta.url)),
  test: {
    include: ['packages/server/test/guard/*.fixture.ts'],
    setupFiles: base.test?.setupFiles,
  },
});
