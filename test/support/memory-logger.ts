// Unit-test logger: keeps the JSON lines in memory.
import { createLogger, type Logger } from '../../appliance/platform/log.js';

/** For unit tests: keeps lines in memory. */
export function memoryLogger(lines: string[] = []): Logger & { lines: string[] } {
  return Object.assign(createLogger('test', 'debug', (l) => lines.push(l)), { lines });
}
