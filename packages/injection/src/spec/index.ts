/**
 * `@agentsecrets/injection/spec`: the injection specs alone — parse, validate and format `style:target=KEY` — for a
 * client that names credentials without loading the engine (undici, zlib, the redactor), such as the proxy client.
 *
 * @packageDocumentation
 */
export {
  createInjectionSpec,
  formatInjectionSpec,
  type InjectionSpec,
  type InjectionStyle,
  parseCliInjection,
  parseInjectionObject,
  parseInjectionSpec,
  validateInjections,
} from './spec.js';
