// The one error a subsystem's control and status actions (initiate,
// terminate, reset, learned routes) raise. Each subsystem maps its daemon's
// errors (VICI, BIRD replies) to it, so the API knows this type and no
// protocol's: the status says what kind of failure it is, the code names it
// for clients, and the message is safe to show (no secrets).
export type ControlFailedStatus = 400 | 404 | 409 | 502 | 504;

export class ControlFailed extends Error {
  constructor(
    /** 400 bad argument, 404 no such object, 409 the daemon is not running, 502 the daemon refused, 504 the daemon did not answer */
    readonly status: ControlFailedStatus,
    /** a stable name for clients, e.g. "charon_refused" */
    readonly code: string,
    message: string,
    /** the document path of the object concerned, when there is one */
    readonly path?: string,
  ) {
    super(message);
    this.name = 'ControlFailed';
  }
}
