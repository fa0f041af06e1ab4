// A jest transformer for the ES modules that tests load from node_modules:
// @kubernetes/client-node 1.x and its ESM-only dependencies (openid-client,
// oauth4webapi, jose). Plain Node 20 require()s ES modules, but jest's own
// module system does so only on Node >= 24.9; on older Node it needs them as
// CommonJS. TypeScript's transpiler (a dev dependency already) converts them,
// file by file; jest caches the result between runs.
'use strict';

const crypto = require('crypto');
const fs = require('fs');
const ts = require('typescript');

const SELF = fs.readFileSync(__filename, 'utf8');
const ESM_SYNTAX = /^\s*(import|export)\b/m;
const COMPILER_OPTIONS = {
  module: ts.ModuleKind.CommonJS,
  target: ts.ScriptTarget.ES2022,
  allowJs: true,
  esModuleInterop: true,
  sourceMap: false,
  inlineSourceMap: false,
};

module.exports = {
  process(source, filename) {
    if (!ESM_SYNTAX.test(source)) return { code: source };
    return { code: ts.transpileModule(source, { fileName: filename, compilerOptions: COMPILER_OPTIONS }).outputText };
  },
  getCacheKey(source, filename) {
    return crypto.createHash('sha256').update(SELF).update(ts.version).update(filename).update(source).digest('hex');
  },
};
