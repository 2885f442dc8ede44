// A remote-side config that cannot be generated: names the reason and the
// path in the document (the peer, a proposal) that causes it.
export class RemoteConfigError extends Error {
  constructor(
    message: string,
    readonly path: string,
  ) {
    super(message);
    this.name = 'RemoteConfigError';
  }
}
