// `npm run openapi`: writes docs/openapi.json from the zod schemas the API routes use
// (test/http/openapi.test.ts fails when the committed copy is out of date).
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { snapshotApiDocument } from '../module/index.js';

const target = fileURLToPath(new URL('../docs/openapi.json', import.meta.url));
writeFileSync(target, `${JSON.stringify(snapshotApiDocument(), null, 2)}\n`);
console.log(`wrote ${target}`);
