// The VICI client's public surface; import from here rather than the parts.
export { section, toPlain, ViciSection, type ViciInput, type ViciPlain, type ViciPlainValue, type ViciValue } from './codec.js';
export { ViciCommandError, ViciConnectionError, ViciEncodeError, ViciProtocolError, ViciTimeoutError } from './errors.js';
export { ViciClient, type InitiateOptions, type SharedSecret, type TerminateOptions, type ViciNamedEntry, type ViciSubscription, type ViciVersion } from './client.js';
export { ViciSession, type ViciEventListener } from './session.js';
export { UnixSocketTransport, type ViciTransport } from './transport.js';
