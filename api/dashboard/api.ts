// The dashboard's only way to the box: the public /v1 API with the bearer
// token the operator typed in. The token lives in sessionStorage (gone when
// the tab closes) and travels only in the Authorization header, never in a
// URL. Errors arrive in the API's one shape and keep their problem paths.

const TOKEN_KEY = 'junction.token';

export const session = {
  token: (): string | null => sessionStorage.getItem(TOKEN_KEY),
  set: (token: string): void => sessionStorage.setItem(TOKEN_KEY, token),
  clear: (): void => sessionStorage.removeItem(TOKEN_KEY),
};

export interface Problem {
  path?: string;
  message: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly problems: Problem[] = [],
    readonly requestId?: string,
  ) {
    super(message);
  }
}

export interface ApiAnswer<T> {
  status: number;
  body: T;
  /** the revision the answer was read or planned on ("<n>"), for If-Match */
  etag: string | null;
}

export interface RequestOptions {
  body?: unknown;
  query?: Record<string, string | undefined>;
  ifMatch?: string | null;
}

/** Called when the API refuses the token, so the app can show the login form. */
let onUnauthorized: () => void = () => undefined;
export function whenUnauthorized(handler: () => void): void {
  onUnauthorized = handler;
}

/** Builds an API path whose interpolated parts (names from the document) are percent-encoded. */
export function apiPath(strings: TemplateStringsArray, ...parts: Array<string | number>): string {
  return strings.reduce((out, s, i) => out + s + (i < parts.length ? encodeURIComponent(String(parts[i])) : ''), '');
}

export async function request<T = any>(method: string, path: string, options: RequestOptions = {}): Promise<ApiAnswer<T>> {
  const token = session.token();
  const headers: Record<string, string> = { accept: 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  if (options.ifMatch) headers['if-match'] = options.ifMatch;
  const query = Object.entries(options.query ?? {}).filter((e): e is [string, string] => e[1] !== undefined);
  const url = query.length ? `${path}?${new URLSearchParams(query)}` : path;
  const response = await fetch(url, {
    method,
    headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
    cache: 'no-store',
    credentials: 'omit',
  });
  const text = await response.text();
  let body: any = text;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    // not JSON: keep the text
  }
  if (!response.ok) {
    if (response.status === 401) onUnauthorized();
    const message = typeof body === 'object' && body?.message ? String(body.message) : `${response.status} ${response.statusText}`;
    throw new ApiError(response.status, body?.error ?? 'error', message, Array.isArray(body?.problems) ? body.problems : [], body?.request_id);
  }
  return { status: response.status, body: body as T, etag: response.headers.get('etag') };
}

export const get = async <T = any>(path: string, query?: Record<string, string | undefined>): Promise<T> => (await request<T>('GET', path, { query })).body;
