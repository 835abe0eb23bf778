// The benchmark JSON API in a process of its own. Prints its port.
import { startJsonApi } from './json-api.mjs';

const server = await startJsonApi();
console.log(JSON.stringify({ port: server.address().port }));
