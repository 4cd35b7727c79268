#!/usr/bin/env node
// Static file server for the built lab (dist/). No dependencies.
//
//   node scripts/serve.mjs [--port N] [--host H] [--dir D]
//   PORT=N node scripts/serve.mjs
//
// --port 0 picks a free port. The first line printed on stdout is the URL, e.g.
// `http://127.0.0.1:8080/`, so a test can start this and read where it listens.
// Serves gzip to clients that accept it (cached in memory per file and mtime).
// Also importable: `import { startServer } from './serve.mjs'`.

import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export const MIME = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.wasm': 'application/wasm',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.wgsl': 'text/plain; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.md': 'text/markdown; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.bin': 'application/octet-stream',
  '.gz': 'application/gzip',
};

// Only the page's own origin and what WebAssembly needs (index.html carries the same policy as
// a meta tag for static hosts). Inline styles stay allowed: Leptos sets style attributes.
export const CSP = [
  "default-src 'self'",
  "script-src 'self' 'wasm-unsafe-eval'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  // blob: URLs are made by the page itself (its exported files); reading one back is allowed.
  "connect-src 'self' blob:",
  "worker-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const COMPRESSIBLE = /^(text\/|application\/(wasm|json|javascript)|image\/svg)/;

function parseArgs(argv) {
  const out = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const [k, v] = a.includes('=') ? a.split(/=(.*)/s, 2) : [a, undefined];
    const val = () => (v !== undefined ? v : argv[++i]);
    if (k === '--port' || k === '-p') out.port = Number(val());
    else if (k === '--host') out.host = val();
    else if (k === '--dir') out.dir = val();
    else if (k === '--quiet' || k === '-q') out.quiet = true;
    else if (k === '-h' || k === '--help') out.help = true;
    else throw new Error(`serve: unknown argument ${a}`);
  }
  return out;
}

/**
 * Start serving `dir`. Resolves to { server, url, port, close() } once listening.
 */
export function startServer({ dir = path.join(ROOT, 'dist'), host = '127.0.0.1', port = 8080, quiet = true } = {}) {
  const base = path.resolve(dir);
  const gzCache = new Map(); // path -> { mtimeMs, size, buf }

  // Large request headers are allowed: the lab's state lives in the URL, and the tests send
  // URLs of several hundred KB (Chromium allows 2 MB); node's default limit is 16 KB.
  const server = http.createServer({ maxHeaderSize: 4 * 1024 * 1024 }, (req, res) => {
    const started = Date.now();
    const done = (status) => {
      if (!quiet) console.error(`${req.method} ${req.url} ${status} ${Date.now() - started}ms`);
    };
    try {
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, { Allow: 'GET, HEAD' }).end();
        return done(405);
      }
      let pathname;
      try {
        pathname = decodeURIComponent(new URL(req.url, 'http://x').pathname);
      } catch {
        res.writeHead(400).end('bad request');
        return done(400);
      }
      if (pathname.includes('\0')) {
        res.writeHead(400).end('bad request');
        return done(400);
      }
      let file = path.join(base, path.normalize(pathname));
      if (file !== base && !file.startsWith(base + path.sep)) {
        res.writeHead(403).end('forbidden');
        return done(403);
      }
      let st = statOrNull(file);
      // A symbolic link inside the folder may point outside it: serve only what resolves inside.
      if (st && !insideReal(file, base)) {
        res.writeHead(403).end('forbidden');
        return done(403);
      }
      if (st && st.isDirectory()) {
        if (!pathname.endsWith('/')) {
          res.writeHead(301, { Location: pathname + '/' }).end();
          return done(301);
        }
        file = path.join(file, 'index.html');
        st = statOrNull(file);
      }
      if (!st || !st.isFile()) {
        res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' }).end('not found');
        return done(404);
      }
      const type = MIME[path.extname(file).toLowerCase()] || 'application/octet-stream';
      const headers = {
        'Content-Type': type,
        'Cache-Control': 'no-cache',
        'Last-Modified': st.mtime.toUTCString(),
        'X-Content-Type-Options': 'nosniff',
        'Content-Security-Policy': CSP,
        'Cross-Origin-Opener-Policy': 'same-origin',
        'Cross-Origin-Embedder-Policy': 'require-corp',
        'Cross-Origin-Resource-Policy': 'same-origin',
        Vary: 'Accept-Encoding',
      };
      const ims = req.headers['if-modified-since'];
      if (ims && Math.floor(st.mtimeMs / 1000) <= Math.floor(Date.parse(ims) / 1000)) {
        res.writeHead(304, headers).end();
        return done(304);
      }
      const acceptsGzip = /\bgzip\b/.test(req.headers['accept-encoding'] || '');
      if (acceptsGzip && COMPRESSIBLE.test(type) && st.size > 512) {
        let entry = gzCache.get(file);
        if (!entry || entry.mtimeMs !== st.mtimeMs || entry.size !== st.size) {
          // Level 6: fast enough for a multi-MB wasm on first request, cached afterwards.
          entry = { mtimeMs: st.mtimeMs, size: st.size, buf: zlib.gzipSync(fs.readFileSync(file), { level: 6 }) };
          gzCache.set(file, entry);
        }
        res.writeHead(200, { ...headers, 'Content-Encoding': 'gzip', 'Content-Length': entry.buf.length });
        res.end(req.method === 'HEAD' ? undefined : entry.buf);
        return done(200);
      }
      res.writeHead(200, { ...headers, 'Content-Length': st.size });
      if (req.method === 'HEAD') {
        res.end();
      } else {
        fs.createReadStream(file).on('error', () => res.destroy()).pipe(res);
      }
      return done(200);
    } catch (err) {
      if (!res.headersSent) res.writeHead(500).end('internal error');
      else res.destroy();
      console.error('serve: error', err);
      return done(500);
    }
  });

  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      const actual = server.address().port;
      const shownHost = host.includes(':') ? `[${host}]` : host;
      const url = `http://${shownHost}:${actual}/`;
      resolve({
        server,
        url,
        port: actual,
        close: () => new Promise((r) => { server.closeAllConnections?.(); server.close(() => r()); }),
      });
    });
  });
}

function insideReal(file, base) {
  try {
    const real = fs.realpathSync(file);
    const root = fs.realpathSync(base);
    return real === root || real.startsWith(root + path.sep);
  } catch {
    return false;
  }
}

function statOrNull(p) {
  try {
    return fs.statSync(p);
  } catch {
    return null;
  }
}

const isMain = process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (isMain) {
  let args;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (e) {
    console.error(e.message);
    process.exit(2);
  }
  if (args.help) {
    console.log('usage: node scripts/serve.mjs [--port N (default $PORT or 8080; 0 = any free)] [--host 127.0.0.1] [--dir dist] [--quiet]');
    process.exit(0);
  }
  const port = Number.isInteger(args.port) ? args.port : process.env.PORT !== undefined ? Number(process.env.PORT) : 8080;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`serve: bad port ${args.port ?? process.env.PORT}`);
    process.exit(2);
  }
  const dir = path.resolve(args.dir ?? path.join(ROOT, 'dist'));
  if (!fs.existsSync(path.join(dir, 'index.html'))) {
    console.error(`serve: ${dir}/index.html not found; build first (bash scripts/build-web.sh)`);
    process.exit(1);
  }
  const explicitPort = Number.isInteger(args.port) || process.env.PORT !== undefined;
  const host = args.host ?? '127.0.0.1';
  startServer({ dir, host, port, quiet: !!args.quiet })
    .catch((e) => {
      // The default port is taken: take any free one rather than fail (an explicit port fails).
      if (e.code === 'EADDRINUSE' && !explicitPort) {
        console.error(`serve: port ${port} is in use, picking a free one`);
        return startServer({ dir, host, port: 0, quiet: !!args.quiet });
      }
      throw e;
    })
    .then(({ url }) => {
      console.log(url);
      if (!args.quiet) console.error(`serving ${path.relative(process.cwd(), dir) || '.'} at ${url} (Ctrl-C to stop)`);
    })
    .catch((e) => {
      console.error(`serve: cannot listen on ${host}:${port}: ${e.message}`);
      process.exit(1);
    });
  for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(0));
}
