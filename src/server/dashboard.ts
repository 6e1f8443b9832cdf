/**
 * Serves the dashboard (web/dist, built by `npm ci`) at `/`: a handful of files read into memory once,
 * so a request can name nothing outside them (no path is ever joined to a directory), each with a
 * strict Content-Security-Policy. The page holds no data: everything it shows comes from the API
 * with the browser's sign-in, so the files themselves are served to anyone.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AirlockError } from '../errors/index.ts';

export const DEFAULT_DASHBOARD_DIR = fileURLToPath(new URL('../../web/dist/', import.meta.url));

/**
 * Scripts and styles only from this origin (no inline script, no eval), data only from this API,
 * nothing may frame the page, and DOM sinks take no strings (Trusted Types): an agent's output that
 * reached the page as markup could not run.
 */
export const DASHBOARD_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
  "require-trusted-types-for 'script'",
  'trusted-types',
].join('; ');

const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': DASHBOARD_CSP,
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'permissions-policy': 'camera=(), microphone=(), geolocation=(), payment=()',
};

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json; charset=utf-8',
  '.webmanifest': 'application/manifest+json',
  '.woff2': 'font/woff2',
};

/** The build is a few hundred KiB; a directory far larger is not a dashboard build and is not loaded whole. */
const MAX_DASHBOARD_BYTES = 16 * 1024 * 1024;

interface Asset {
  readonly body: Buffer;
  readonly gzip: Buffer | null;
  readonly type: string;
  /** Hashed names under assets/ never change content: cached for a year. */
  readonly immutable: boolean;
}

function listFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return listFiles(path);
    return entry.isFile() ? [path] : [];
  });
}

export function loadDashboard(dir: string): Map<string, Asset> | null {
  if (!existsSync(join(dir, 'index.html'))) return null;
  const assets = new Map<string, Asset>();
  let total = 0;
  for (const path of listFiles(dir)) {
    const type = TYPES[extname(path)];
    if (type === undefined) continue;
    total += statSync(path).size;
    if (total > MAX_DASHBOARD_BYTES) {
      throw new AirlockError(
        'INVALID_CONFIG',
        `${dir} holds more than ${MAX_DASHBOARD_BYTES} bytes: not a dashboard build`,
        {
          path: dir,
        },
      );
    }
    const body = readFileSync(path);
    const name = `/${relative(dir, path).split(sep).join('/')}`;
    const compressible = type.startsWith('text/') || type.includes('json') || type.includes('svg');
    assets.set(name, {
      body,
      gzip: compressible && body.length > 1024 ? gzipSync(body) : null,
      type,
      immutable: name.startsWith('/assets/'),
    });
  }
  return assets;
}

function send(request: FastifyRequest, reply: FastifyReply, asset: Asset): FastifyReply {
  const gzip = asset.gzip !== null && /\bgzip\b/.test(String(request.headers['accept-encoding'] ?? ''));
  void reply
    .headers(SECURITY_HEADERS)
    .header('content-type', asset.type)
    .header('cache-control', asset.immutable ? 'public, max-age=31536000, immutable' : 'no-cache')
    .header('vary', 'accept-encoding');
  if (gzip) void reply.header('content-encoding', 'gzip');
  return reply.code(200).send(gzip ? asset.gzip : asset.body);
}

/**
 * `/` and the built files. Without a build (`npm ci` not run, or run without dev dependencies), `/`
 * says how to build it instead of failing the server: the API works without the dashboard.
 */
export function registerDashboard(app: FastifyInstance, dir: string): void {
  const assets = loadDashboard(dir);
  const index = assets?.get('/index.html');
  app.get('/', (request, reply) => {
    if (index === undefined) {
      return reply
        .code(503)
        .headers(SECURITY_HEADERS)
        .type('text/plain; charset=utf-8')
        .send(
          `The dashboard is not built: run npm run build:web in the Airlock checkout (looked in ${dir}).\n`,
        );
    }
    return send(request, reply, index);
  });
  for (const [name, asset] of assets ?? []) {
    if (name === '/index.html') continue;
    app.get(name, (request, reply) => send(request, reply, asset));
  }
}
