export type PostResult<T> = { ok: true; status: number; body: T } | { ok: false; status: number; error: string };

/** POSTs JSON and turns any answer into either the body or a message a person can read. */
export async function postJson<T = unknown>(url: string, body: unknown, headers: Record<string, string> = {}): Promise<PostResult<T>> {
  try {
    const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) });
    const data = (await res.json().catch(() => null)) as (T & { error?: { message?: string } }) | null;
    if (res.ok) return { ok: true, status: res.status, body: data as T };
    const retry = res.headers.get("retry-after");
    const message = data?.error?.message ?? `The server answered ${res.status}.`;
    return { ok: false, status: res.status, error: retry && !/try again/.test(message) ? `${message} (try again in ${retry} s)` : message };
  } catch {
    return { ok: false, status: 0, error: "No connection to the show. Check the Wi-Fi and try again." };
  }
}
