// The casewatchd HTTP API: JSON GETs with the bearer token when one is known, and the live
// stream (EventSource cannot send headers, so the token travels as access_token there only).

const TOKEN_KEY = 'casewatch.token';

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export const token = () => sessionStorage.getItem(TOKEN_KEY);
export const setToken = (value) => sessionStorage.setItem(TOKEN_KEY, value);
export const clearToken = () => sessionStorage.removeItem(TOKEN_KEY);

// '?a=1&b=2' from the non-empty values of params, or ''.
export function query(params = {}) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== null && v !== undefined && v !== '') q.set(k, String(v));
  }
  const text = q.toString();
  return text ? `?${text}` : '';
}

export async function getJson(path, params) {
  const headers = { Accept: 'application/json' };
  const bearer = token();
  if (bearer) headers.Authorization = `Bearer ${bearer}`;
  let response;
  try {
    response = await fetch(path + query(params), { headers, cache: 'no-store' });
  } catch (e) {
    throw new ApiError(0, 'network', `casewatchd cannot be reached (${e.message})`);
  }
  let body = null;
  try {
    body = await response.json();
  } catch {
    // Not JSON: the status says enough.
  }
  if (!response.ok) {
    throw new ApiError(response.status, body?.error?.code ?? `http_${response.status}`,
      body?.error?.message ?? `${response.status} ${response.statusText}`);
  }
  return body;
}

export function openStream(params) {
  return new EventSource(`/api/v1/stream${query({ ...params, access_token: token() })}`);
}
