// Tests are compiled by tsc into dist/ first (make build), so jest runs plain JS.
// The only transform is for ES-module-only packages (scripts/jest-esm-to-cjs.js);
// everything else keeps jest's default (babel-jest).
const ESM_PACKAGES = ['@kubernetes/client-node', 'openid-client', 'oauth4webapi', 'jose'];

module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/dist/tests'],
  testMatch: ['**/*.test.js'],
  moduleFileExtensions: ['js', 'json'],
  transform: {
    [`/node_modules/(${ESM_PACKAGES.join('|')})/.+\\.js$`]: '<rootDir>/scripts/jest-esm-to-cjs.js',
    '\\.[jt]sx?$': 'babel-jest',
  },
  transformIgnorePatterns: [`/node_modules/(?!(${ESM_PACKAGES.join('|')})/)`],
};
