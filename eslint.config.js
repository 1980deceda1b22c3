import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';
import reactHooks from 'eslint-plugin-react-hooks';

/** Architecture Invariant: only transport/ws.ts imports `ws` (the server's one socket layer). */
const onlyTransportImportsWs = {
  name: 'ws',
  message: 'Only packages/server/src/transport/ws.ts imports ws (ARCHITECTURE.md).',
};

/** Import sources each layer must not use (regexes on the specifier, relative or bare). */
const layers = {
  protocol: [
    { regex: '^@letter/', message: 'packages/protocol imports nothing of ours (ARCHITECTURE.md).' },
    {
      regex: '^(\\.\\./)+(packages/)?(server|sdk|web|bench)(/|$)',
      message: 'packages/protocol imports nothing of ours (ARCHITECTURE.md).',
    },
  ],
  web: [
    {
      regex: '^@letter/(server|bench)(/|$)',
      message: 'packages/web never imports server code; it talks through @letter/sdk.',
    },
    {
      regex: '^(\\.\\./)+(packages/)?(server|bench)(/|$)',
      message: 'packages/web never imports server code; it talks through @letter/sdk.',
    },
  ],
  store: [
    {
      regex: '^(\\.\\./)+(hub|services|transport|http)(/|$)',
      message:
        'store/ never imports hub/, services/, transport/ or http/: the store is the bottom layer.',
    },
  ],
  hub: [
    {
      regex: '^(\\.\\./)+services(/|$)',
      message: 'hub/ never imports services/: the services use the hub, not the other way round.',
    },
  ],
  bus: [
    {
      regex: '^(\\.\\./)+store(/|$)',
      message: 'bus/ never imports store/: the bus carries notifications, the store the truth.',
    },
  ],
};

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', 'data/**', 'coverage/**', 'bench/results/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-console': 'off',
    },
  },
  {
    files: ['**/*.test.{ts,tsx}', '**/testing/**', '**/test/**'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
  {
    files: ['packages/web/**/*.{ts,tsx}'],
    languageOptions: { globals: { ...globals.browser } },
    plugins: { 'react-hooks': reactHooks },
    rules: { ...reactHooks.configs.recommended.rules },
  },
  // Layer rules (ARCHITECTURE.md, "Layers"); packages/server/test/architecture.test.ts proves
  // each one bites. ESLint keeps one set of options per rule per file (the last matching block
  // wins), so every block below lists all the import restrictions that apply to its files.
  {
    files: ['packages/protocol/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: layers.protocol }] },
  },
  {
    files: ['packages/web/**/*.{ts,tsx}'],
    rules: {
      'no-restricted-imports': ['error', { paths: [onlyTransportImportsWs], patterns: layers.web }],
    },
  },
  {
    // The app makes no request except through @letter/sdk (its typed methods, not api.request).
    files: ['packages/web/src/**/*.{ts,tsx}'],
    rules: {
      'no-restricted-globals': [
        'error',
        ...['fetch', 'XMLHttpRequest', 'WebSocket', 'EventSource'].map((name) => ({
          name,
          message: 'packages/web talks to the server only through @letter/sdk.',
        })),
      ],
      'no-restricted-syntax': [
        'error',
        {
          selector: "MemberExpression[object.property.name='api'][property.name='request']",
          message: 'Use a typed sdk method (add one to the sdk), not a hand-built request.',
        },
      ],
    },
  },
  {
    files: ['packages/server/src/**/*.ts'],
    ignores: [
      'packages/server/src/transport/ws.ts',
      'packages/server/src/**/*.test.ts',
      'packages/server/src/testing/**',
    ],
    rules: { 'no-restricted-imports': ['error', { paths: [onlyTransportImportsWs] }] },
  },
  {
    files: ['packages/server/src/store/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { paths: [onlyTransportImportsWs], patterns: layers.store },
      ],
    },
  },
  {
    files: ['packages/server/src/hub/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { paths: [onlyTransportImportsWs], patterns: layers.hub }],
    },
  },
  {
    files: ['packages/server/src/bus/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { paths: [onlyTransportImportsWs], patterns: layers.bus }],
    },
  },
);
