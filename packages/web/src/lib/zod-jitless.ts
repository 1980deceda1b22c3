/**
 * Imported first by main.tsx, before any schema exists: zod then never probes `new Function("")`
 * to decide whether it may compile parsers, a probe the CSP (script-src 'self') refuses and
 * reports on every load. Validation in the browser runs interpreted; the server keeps the JIT.
 */
import { config } from 'zod';

config({ jitless: true });
