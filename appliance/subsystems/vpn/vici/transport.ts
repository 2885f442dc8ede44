// The narrow seam under a VICI session: a byte stream to charon. The real one
// is a Unix socket; unit tests hand the session a scripted fake instead.
import net from 'node:net';
import { ViciConnectionError } from './errors.js';

export interface ViciTransport {
  connect(): Promise<void>;
  write(data: Buffer): void;
  onData(listener: (chunk: Buffer) => void): void;
  /** Called once when the stream ends, with the error if it broke. */
  onClose(listener: (error?: Error) => void): void;
  close(): void;
}

/** A VICI socket path, as in charon.plugins.vici.socket (with or without unix://). */
export class UnixSocketTransport implements ViciTransport {
  private socket: net.Socket | undefined;
  private dataListeners: Array<(chunk: Buffer) => void> = [];
  private closeListeners: Array<(error?: Error) => void> = [];
  private closed = false;
  readonly path: string;

  constructor(path: string, private readonly connectTimeoutMs = 5_000) {
    this.path = path.replace(/^unix:\/\//, '');
  }

  connect(): Promise<void> {
    return new Promise((resolve, reject) => {
      const socket = net.createConnection({ path: this.path });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new ViciConnectionError(`vici connect to ${this.path} timed out after ${this.connectTimeoutMs} ms`));
      }, this.connectTimeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        this.socket = socket;
        socket.removeAllListeners('error');
        let lastError: Error | undefined;
        socket.on('error', (error) => (lastError = error));
        socket.on('close', () => this.finish(lastError));
        socket.on('data', (chunk: Buffer) => this.dataListeners.forEach((listener) => listener(chunk)));
        resolve();
      });
      socket.once('error', (error) => {
        clearTimeout(timer);
        reject(new ViciConnectionError(`vici connect to ${this.path}: ${error.message}`));
      });
    });
  }

  write(data: Buffer): void {
    if (!this.socket || this.closed) throw new ViciConnectionError('vici socket is not connected');
    this.socket.write(data);
  }

  onData(listener: (chunk: Buffer) => void): void {
    this.dataListeners.push(listener);
  }

  onClose(listener: (error?: Error) => void): void {
    this.closeListeners.push(listener);
  }

  close(): void {
    this.socket?.destroy();
    this.finish();
  }

  private finish(error?: Error): void {
    if (this.closed) return;
    this.closed = true;
    this.closeListeners.forEach((listener) => listener(error));
  }
}
