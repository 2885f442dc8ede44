// Runs appliance/platform/command-helper.ts as the helper process from source
// (unit tests have no dist/): tsx's loader first, then the helper itself.
import { register } from 'tsx/esm/api';

register();
await import('../../appliance/platform/command-helper.ts');
