export { KnexBackend } from './knex-backend.js';
export { KnexJobRepository } from './knex-job-repository.js';
export { DEFAULT_TABLE, type KnexBackendOptions } from './job-table.js';
