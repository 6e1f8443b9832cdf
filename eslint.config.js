// Lint encodes lessons: each ban says why, so the message teaches the rule.
import { builtinModules } from 'node:module';
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
  'egress',
  'tools',
  'agent',
  'local-tree',
  'sdk-node',
];

// The router's stages, each a sub-folder whose index.ts is its door (src/router/<stage>/index.ts).
const routerStages = ['decide', 'approve', 'rate', 'execute', 'shape', 'record'];

// Sub-folders of src/sandbox, each with an index.ts as its door. Drivers share the launcher, the
// layout and the state directory through these doors, never through another driver's files.
const sandboxFolders = [
  'cgroups',
  'seccomp',
  'host-uids',
  'image',
  'output',
  'supervisor',
  'layout',
  'launcher',
  'state-dir',
  'drivers',
  'bwrap',
  'gvisor',
  'docker',
];

// Bare names of Node built-ins, for code that must not depend on Node (the SDK).
const nodeBuiltins = builtinModules.filter((name) => !name.startsWith('_') && !name.includes(':'));

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
          patterns: [
            ...stageFolders.map((folder) => ({
              group: [
                `../${folder}/*`,
                `../../${folder}/*`,
                `!../${folder}/index.ts`,
                `!../../${folder}/index.ts`,
              ],
              message: `Import ${folder} through its index.ts: it is the folder's only public surface.`,
            })),
            ...routerStages.map((stage) => ({
              group: [`./${stage}/*`, `../${stage}/*`, `!./${stage}/index.ts`, `!../${stage}/index.ts`],
              message: `Import the router's ${stage} stage through its index.ts: it is the stage's only public surface.`,
            })),
            {
              // Any relative path inside src/ that enters one of these folders and names a file other than
              // its index.ts (drivers/bwrap/index.ts enters drivers/ first: one folder at a time). Paths
              // through src/ come from tests under test/, which may reach internals they test.
              regex: `^(?!.*(^|/)src/)(\\.\\.?/)+([^/]+/)*(${sandboxFolders.join('|')})/(?!index\\.ts$)`,
              message:
                "Import a sandbox sub-folder through its index.ts, one folder at a time: the index is the folder's only public surface (drivers share code through src/sandbox/layout, launcher and state-dir, not through each other's files).",
            },
          ],
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
    // The SDK ships on its own to browsers, the dashboard and other runtimes: it may use web APIs
    // (fetch, streams, AbortSignal) and nothing from Node or from the rest of src/.
    files: ['src/sdk/**/*.ts'],
    ignores: ['src/sdk/**/*.test.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^\\.\\./',
              message:
                'The SDK imports nothing else from src/: it ships alone and reaches the server only over HTTP; declare wire types in src/sdk.',
            },
            {
              regex: `^(node:|(${nodeBuiltins.join('|')})(/|$))`,
              message:
                'The SDK depends on fetch only so browsers and other runtimes can use it: no Node built-ins.',
            },
          ],
        },
      ],
      'no-restricted-globals': [
        'error',
        ...['Buffer', 'process', 'require', '__dirname', '__filename', 'setImmediate'].map((name) => ({
          name,
          message: `${name} is Node-only; the SDK runs in browsers and other runtimes (use web APIs: Uint8Array, TextEncoder…).`,
        })),
      ],
    },
  },
  {
    // SDK tests run on Node (they may read files) but still reach the server only through the SDK.
    files: ['src/sdk/**/*.test.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^\\.\\./',
              message:
                'SDK unit tests use only the SDK; end-to-end tests against the server live in test/api.',
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
  {
    // Functions the browser tests run inside the page.
    files: ['test/dashboard/in-page.js'],
    languageOptions: { globals: globals.browser },
  },
  {
    // The dashboard runs in the browser and reaches the server only over the public HTTP API.
    files: ['web/src/**/*.{ts,tsx}'],
    languageOptions: { globals: globals.browser },
    rules: {
      'no-console': 'error',
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^(\\.\\./)+src/(?!sdk/index\\.ts$)',
              message:
                'The dashboard talks only to the public HTTP API: import the SDK (src/sdk/index.ts), nothing else of src/.',
            },
            {
              regex: `^(node:|(${nodeBuiltins.join('|')})(/|$))`,
              message: 'The dashboard runs in the browser: no Node built-ins.',
            },
          ],
        },
      ],
      'no-restricted-properties': [
        'error',
        ...['innerHTML', 'outerHTML'].map((property) => ({
          property,
          message:
            'Markup from strings can run what an agent printed; build nodes (textContent, JSX). The CSP enforces Trusted Types too.',
        })),
      ],
      'no-restricted-syntax': [
        'error',
        {
          selector: "JSXAttribute[name.name='dangerouslySetInnerHTML']",
          message: 'Markup from strings can run what an agent printed; render text, never HTML.',
        },
      ],
    },
  },
);
