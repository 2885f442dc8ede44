// A subsystem's control action failed (ControlFailed from appliance/core):
// the same failure as an HTTP answer. The plugins know this one type, never
// a daemon's protocol errors.
import { ControlFailed } from '../appliance/core/control-failed.js';
import { HttpError } from './errors.js';

/** Runs a control action; a ControlFailed becomes the HttpError it describes, anything else passes through. */
export async function controlAction<T>(action: () => Promise<T>, path?: (failure: ControlFailed) => string | undefined): Promise<T> {
  try {
    return await action();
  } catch (error) {
    if (error instanceof ControlFailed) throw new HttpError(error.status, error.code, error.message, path?.(error) ?? error.path);
    throw error;
  }
}
