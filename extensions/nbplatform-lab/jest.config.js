// Unit tests of the extension's pure modules (no JupyterLab, no browser): the
// *.spec.ts files in __tests__ folders under src, compiled by ts-jest with
// tsconfig.test.json (CommonJS, jest's types).
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/src'],
  testMatch: ['**/__tests__/**/*.spec.ts'],
  transform: {
    '^.+\\.tsx?$': ['ts-jest', { tsconfig: 'tsconfig.test.json' }]
  }
};
