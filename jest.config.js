// Tests are compiled by tsc into dist/ first (make build), so jest runs plain JS.
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/dist/tests'],
  testMatch: ['**/*.test.js'],
  moduleFileExtensions: ['js', 'json'],
};
