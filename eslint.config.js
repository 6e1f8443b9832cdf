// Lint encodes lessons: each ban says why, so the message teaches the rule.
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

const stageFolders = [
  'shell',
  'policy',
  'sandbox',
  'router',
  'sessions',
  'store',
  'config',
  'metrics',
  'airlock',
  'errors',
  'server',
  'mcp',
  'sdk',
  'cli',
];

export default tseslint.config(
  { ignores: ['node_modules/**', 'build/**', 'web/dist/**', '.scratch/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: globals.node },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-eval': 'error',
      'no-implied-eval': 'error',
      'no-new-func': 'error',
      'no-restricted-syntax': [
        'error',
        {
          selector: "Property[key.name='shell'][value.value=true]",
          message:
            'shell: true hands host-side strings to /bin/sh; build an argv array (the agent command reaches a shell only inside the sandbox).',
        },
      ],
      'no-restricted-imports': [
        'error',
        {
          patterns: stageFolders.map((folder) => ({
            group: [
              `../${folder}/*`,
              `../../${folder}/*`,
              `!../${folder}/index.ts`,
              `!../../${folder}/index.ts`,
            ],
            message: `Import ${folder} through its index.ts: it is the folder's only public surface.`,
          })),
          paths: [
            {
              name: 'node:child_process',
              importNames: ['exec', 'execSync'],
              message: 'exec/execSync run a host shell; use spawn/execFile with an argv array.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['src/**/*.ts'],
    ignores: ['src/cli/**'],
    rules: {
      'no-console': 'error',
    },
  },
);
