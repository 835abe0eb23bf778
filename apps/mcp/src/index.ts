export { serveStdio } from './serve.js';
export { createMcpServer, type McpServerOptions } from './server.js';
