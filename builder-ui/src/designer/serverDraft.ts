// Server-side drafts (GET/PUT/DELETE /api/meta/apps/{app}/draft): every
// change in the designer is saved as the admin's draft of the next version,
// restored on reload or on another device, and dropped once published or
// discarded. Other admins' drafts of the app are listed so two people
// editing one app know of each other; publishing a draft started from an
// older version is refused by the server (409), which the designer shows.
import { useCallback, useEffect, useRef, useState } from "react";
import { ApiError, getToken } from "../api";
import type { DDoc } from "./model";

export interface DraftInfo {
  userId: string;
  email?: string;
  name?: string;
  baseVersion: number;
  updatedAt: string;
  mine: boolean;
  stale: boolean;
}

interface DraftAnswer {
  saved: boolean;
  baseVersion: number;
  currentVersion: number;
  stale: boolean;
  updatedAt: string;
  document: DDoc;
}

async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { Accept: "application/json", "X-Forma-Client": "web" };
  const token = getToken();
  if (token) headers.Authorization = "Bearer " + token;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  const data = text ? (JSON.parse(text) as unknown) : undefined;
  if (!res.ok) {
    const e = (data as { error?: { code?: string; message?: string } } | undefined)?.error;
    throw new ApiError(res.status, e?.code ?? "http_" + res.status, e?.message ?? "");
  }
  return data as T;
}

const base = (app: string) => "/api/meta/apps/" + encodeURIComponent(app);

export const draftsApi = {
  get: (app: string) => call<DraftAnswer>("GET", base(app) + "/draft"),
  put: (app: string, baseVersion: number, document: DDoc) => call<DraftAnswer>("PUT", base(app) + "/draft", { baseVersion, document }),
  drop: (app: string) => call<void>("DELETE", base(app) + "/draft"),
  list: (app: string) => call<{ items: DraftInfo[] }>("GET", base(app) + "/drafts"),
};

export type DraftState = "idle" | "saving" | "saved" | "error";

// SAVE_DELAY_MS is how long the designer waits after a change before saving.
export const SAVE_DELAY_MS = 800;

// useServerDraft saves doc (while dirty) as the admin's draft and, once per
// app, offers the stored draft back through onRestore. baseVersion is the
// published version the work started from (0 for a new app).
export function useServerDraft(app: string, doc: DDoc | null, dirty: boolean, baseVersion: number, onRestore: (d: DDoc, savedAt: string) => void) {
  const [state, setState] = useState<DraftState>("idle");
  const [savedAt, setSavedAt] = useState<string | null>(null);
  const [others, setOthers] = useState<DraftInfo[]>([]);
  const [restoredAt, setRestoredAt] = useState<string | null>(null);
  const checked = useRef<string | null>(null);
  const restore = useRef(onRestore);
  restore.current = onRestore;
  const pending = useRef(false);

  // Once the designer has its document: restore a saved draft, list others'.
  useEffect(() => {
    if (!doc || checked.current === app) return;
    checked.current = app;
    let live = true;
    void draftsApi.get(app).then((d) => {
      if (live && d.saved && d.document) {
        setSavedAt(d.updatedAt);
        setState("saved");
        setRestoredAt(d.updatedAt);
        restore.current({ ...d.document, entities: d.document.entities ?? [] }, d.updatedAt);
      }
    }, () => undefined);
    void draftsApi.list(app).then((r) => live && setOthers((r.items ?? []).filter((x) => !x.mine)), () => undefined);
    return () => {
      live = false;
    };
  }, [app, doc]);

  // Save a moment after the last change.
  useEffect(() => {
    if (!doc || !dirty || checked.current !== app) return;
    pending.current = true;
    const timer = setTimeout(() => {
      setState("saving");
      draftsApi.put(app, baseVersion, doc).then((d) => {
        pending.current = false;
        setSavedAt(d.updatedAt);
        setState("saved");
      }, () => setState("error"));
    }, SAVE_DELAY_MS);
    return () => clearTimeout(timer);
  }, [app, doc, dirty, baseVersion]);

  // Leaving with a change not saved yet asks first.
  useEffect(() => {
    const ask = (e: BeforeUnloadEvent) => {
      if (dirty && (pending.current || state === "error")) {
        e.preventDefault();
        e.returnValue = "";
      }
    };
    window.addEventListener("beforeunload", ask);
    return () => window.removeEventListener("beforeunload", ask);
  }, [dirty, state]);

  // discard drops the draft (after a publish, or on request).
  const discard = useCallback(async () => {
    pending.current = false;
    try {
      await draftsApi.drop(app);
    } catch (e) {
      if (!(e instanceof ApiError && e.status === 404)) throw e;
    }
    setState("idle");
    setSavedAt(null);
    setRestoredAt(null);
  }, [app]);

  return { state, savedAt, others, restoredAt, discard };
}
