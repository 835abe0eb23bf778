export type { Io } from './io.js';
export { buildProgram, main, VERSION } from './program.js';
