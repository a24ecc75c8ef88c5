import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// The layers of lib/ (see README "Architecture"): each folder may import only the folders listed
// for it. An upward or sideways import fails `npm test`.
const LAYERS = {
  base: [],
  zk: ['base'],
  transport: ['base'],
  routing: ['base'],
  ops: ['base'],
  coordination: ['base', 'zk'],
  ha: ['base', 'zk', 'coordination', 'transport', 'routing', 'ops'],
};
const ALL = Object.keys(LAYERS);
const OUTSIDE_LIB = ['bin', 'test', 'integration', 'bench', 'examples', 'scripts', 'docker'];

function layerRule(layer) {
  const forbidden = ALL.filter((l) => l !== layer && !LAYERS[layer].includes(l));
  return {
    files: [`lib/${layer}/**/*.ts`],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [
          ...(forbidden.length ? [{
            regex: `^(\\.\\./)+(${forbidden.join('|')})(/|$)`,
            message: `lib/${layer} may import only ${['itself', ...LAYERS[layer]].join(', ')} (layering: see README "Architecture").`,
          }] : []),
          { regex: `^(\\.\\./)+(${OUTSIDE_LIB.join('|')})(/|$)`, message: 'lib/ never imports bin/, tests, benches or examples.' },
          { regex: '^(\\.\\./)+index$|^\\.\\./\\.\\.$|^\\.\\.$', message: 'import a layer, not the package entry.' },
        ],
      }],
    },
  };
}

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'bench/java/**', 'bench/results/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-constant-condition': ['error', { checkLoops: false }],
    },
  },
  ...Object.keys(LAYERS).map(layerRule),
  {
    // Every timer, deadline and lease runs on the monotonic clock (lib/base/clock.ts): wall-clock
    // time may only stamp things for humans, where a line says so.
    files: ['lib/**/*.ts', 'bin/**/*.ts'],
    ignores: ['lib/base/clock.ts'],
    rules: {
      'no-restricted-properties': ['error', { object: 'Date', property: 'now', message: 'use monotonicMs() from lib/base/clock (wall-clock only for human-facing stamps, with an eslint-disable line saying why).' }],
    },
  },
  {
    files: ['lib/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ regex: `^(\\.\\./)+(${OUTSIDE_LIB.join('|')})(/|$)`, message: 'lib/ never imports bin/, tests, benches or examples.' }] }],
    },
  },
  {
    // Plain JavaScript run by Node as it is (package consumers, build scripts).
    files: ['**/*.cjs', '**/*.mjs'],
    languageOptions: {
      globals: Object.fromEntries(['process', 'console', 'require', 'module', '__dirname', '__filename', 'setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Buffer'].map((g) => [g, 'readonly'])),
    },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    files: ['test/**', 'integration/**', 'bench/**'],
    rules: { '@typescript-eslint/no-non-null-assertion': 'off' },
  },
);
