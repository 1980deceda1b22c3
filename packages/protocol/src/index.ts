export * from './errors.js';
export * from './close-codes.js';
export * from './limits.js';
export * from './models.js';
export * from './rest.js';
export * from './frames.js';
export * from './validate.js';
export * from './hot-frames.js';
