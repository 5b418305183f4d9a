/** Three projects: unit (no I/O), integration (real local servers), template (the packaged CloudFormation). */
const transform = {
  '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: 'tsconfig.json' }],
};
const common = {
  extensionsToTreatAsEsm: ['.ts'],
  transform,
  testEnvironment: 'node',
  setupFiles: ['<rootDir>/test/support/env.ts'],
  setupFilesAfterEnv: ['<rootDir>/test/support/matchers.ts'],
  // Its ES build is not marked as a module; the CommonJS build registers the same matchers.
  moduleNameMapper: {
    '^aws-sdk-client-mock-jest$': '<rootDir>/node_modules/aws-sdk-client-mock-jest/dist/cjs/jest.js',
  },
};

export default {
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/test/unit/**/*.test.ts'] },
    {
      ...common,
      displayName: 'integration',
      // moto's server, an AWS emulator beside our own fakes (test/support/moto.ts).
      globalSetup: '<rootDir>/test/support/global-setup-integration.ts',
      globalTeardown: '<rootDir>/test/support/global-teardown-integration.ts',
      setupFilesAfterEnv: [...common.setupFilesAfterEnv, '<rootDir>/test/support/slow.ts'],
      testMatch: ['<rootDir>/test/integration/**/*.test.ts'],
    },
    {
      ...common,
      displayName: 'template',
      // One `sls package --stage prod` for every template test file.
      globalSetup: '<rootDir>/test/support/global-setup-template.ts',
      globalTeardown: '<rootDir>/test/support/global-teardown-template.ts',
      setupFilesAfterEnv: [...common.setupFilesAfterEnv, '<rootDir>/test/support/slow.ts'],
      testMatch: ['<rootDir>/test/template/**/*.test.ts'],
    },
  ],
};
