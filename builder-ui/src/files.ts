// Uploads for file fields: POST /api/files (multipart, with progress), the
// metadata of a stored file, and its bytes. Links and <img> cannot send the
// bearer token, so bytes are fetched here and shown through object URLs.
import { ApiError, errorAnswer, getToken } from "./api";

export interface FileMeta {
  id: string;
  name: string;
  size: number;
  contentType: string;
  thumbnail: boolean;
}

export function authHeaders(): Record<string, string> {
  const h: Record<string, string> = { "X-Forma-Client": "web" };
  const token = getToken();
  if (token) h.Authorization = "Bearer " + token;
  return h;
}

// uploadFile sends file for app's records; onProgress gets the fraction
// sent (XMLHttpRequest: fetch reports no upload progress). It rejects with
// an ApiError (413 file_too_large over the app's limit).
export function uploadFile(app: string, file: Blob, name: string, onProgress?: (fraction: number) => void, signal?: AbortSignal): Promise<FileMeta> {
  const form = new FormData();
  form.append("app", app);
  form.append("file", file, name);
  return sendForm<FileMeta>("/api/files", form, onProgress, signal);
}

// sendForm posts a multipart form with the token and answers its JSON;
// onProgress gets the fraction sent. Imports (imports.ts) upload this way too.
export function sendForm<T>(path: string, form: FormData, onProgress?: (fraction: number) => void, signal?: AbortSignal): Promise<T> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", path);
    for (const [k, v] of Object.entries(authHeaders())) xhr.setRequestHeader(k, v);
    xhr.setRequestHeader("Accept", "application/json");
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable && e.total > 0) onProgress?.(e.loaded / e.total);
    };
    xhr.onload = () => {
      if (xhr.status >= 200 && xhr.status < 300) {
        try {
          resolve(JSON.parse(xhr.responseText) as T);
        } catch {
          reject(new ApiError(xhr.status, "bad_answer", "the server's answer is not JSON"));
        }
        return;
      }
      reject(errorAnswer(xhr.status, xhr.statusText, xhr.responseText, xhr.getResponseHeader("Retry-After")));
    };
    xhr.onerror = () => reject(new ApiError(0, "network", "the upload did not reach the server"));
    xhr.onabort = () => reject(new ApiError(0, "aborted", "the upload was cancelled"));
    signal?.addEventListener("abort", () => xhr.abort());
    xhr.send(form);
  });
}

async function get(path: string): Promise<Response> {
  let res: Response;
  try {
    res = await fetch(path, { headers: authHeaders() });
  } catch (e) {
    throw new ApiError(0, "network", e instanceof Error ? e.message : String(e));
  }
  if (!res.ok) throw errorAnswer(res.status, res.statusText, await res.text(), res.headers.get("Retry-After"));
  return res;
}

// fileMeta is a stored file's name, size, type and whether it has a
// thumbnail (404 when the viewer may not fetch it).
export async function fileMeta(id: string): Promise<FileMeta> {
  return JSON.parse(await (await get(`/api/files/${encodeURIComponent(id)}/meta`)).text()) as FileMeta;
}

// fileBlob is a stored file's bytes, or its thumbnail's.
export async function fileBlob(id: string, thumb = false): Promise<Blob> {
  return (await get(`/api/files/${encodeURIComponent(id)}${thumb ? "?thumb=1" : ""}`)).blob();
}

// formatSize shows a byte count the way file managers do (1 KB = 1024 B).
export function formatSize(n: number, lang = "en"): string {
  const units = ["B", "KB", "MB", "GB"];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  const digits = i === 0 || v >= 100 ? 0 : 1;
  return new Intl.NumberFormat(lang, { maximumFractionDigits: digits }).format(v) + " " + units[i];
}
