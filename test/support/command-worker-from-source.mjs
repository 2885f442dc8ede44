// Runs appliance/platform/command-worker.ts in a worker thread from source
// (unit tests have no dist/): tsx's loader first, then the worker itself.
import { register } from 'tsx/esm/api';

register();
await import('../../appliance/platform/command-worker.ts');
