export { createMcpServer, type McpServerOptions } from './server.js';
export { serveStdio } from './serve.js';
