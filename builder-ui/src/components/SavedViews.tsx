// Saved views of a list as tabs (GET/POST/DELETE /api/data/{app}/{entity}/views):
// the user's own and those an admin shared with their roles. Picking a tab
// puts its view, field, filter and sort in the URL; "Save view" keeps the
// current ones under a name. The server checks a view's filter and sort
// under its creator's rules. A view that names a field removed since (the
// server flags it with problems) shows a mark and opens without those parts.
import { useCallback, useEffect, useState } from "react";
import { ApiError, api, currentUser, getToken, type AppDocument } from "../api";
import { useI18n, type MessageKey } from "../i18n";
import { ShareView, type ShareRole } from "./ShareView";
import { problemText, type Problem } from "../problems";

const DEFAULT_ROLES = ["rep", "manager", "executive"];

// shareRoles are the roles a view can be shared with: the app's, and the
// three sales roles every app has unless it writes them out.
export function shareRoles(app: AppDocument, t: (k: MessageKey) => string): ShareRole[] {
  const own = (app.roles ?? []).map((r) => ({ name: r.name, label: r.label }));
  const defaults = DEFAULT_ROLES.filter((n) => !own.some((r) => r.name === n)).map((n) => ({ name: n, label: t(`views.role.${n}` as MessageKey) }));
  return [...own, ...defaults];
}

export interface SavedView {
  id: string;
  name: string;
  labels?: Record<string, string>;
  kind: string;
  filter: string;
  sort: string;
  options?: { by?: string };
  roles: string[];
  owner: string;
  version: number;
  // What in the view no longer applies (/filter, /sort, /columns/i, /options/by).
  problems?: Problem[];
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

export function SavedViews({ app, entity, current, onPick, roles }: {
  app: string; entity: string;
  current: { view: string; by?: string; filter: string; sort: string };
  onPick: (p: Record<string, string | null>) => void;
  // The roles an admin may share a view with (see shareRoles).
  roles?: ShareRole[];
}) {
  const { t, lang } = useI18n();
  const [views, setViews] = useState<SavedView[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [admin, setAdmin] = useState(() => !!currentUser()?.admin);
  const [sharing, setSharing] = useState<SavedView | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  useEffect(() => {
    if (currentUser() || !getToken()) return;
    let live = true;
    api.me().then((u) => live && setAdmin(!!u.admin), () => undefined);
    return () => {
      live = false;
    };
  }, []);
  const base = `/api/data/${encodeURIComponent(app)}/${encodeURIComponent(entity)}/views`;
  const load = useCallback(() => {
    call<{ items: SavedView[] }>("GET", base).then(
      (r) => setViews((r?.items ?? []).filter((v) => v && typeof v.id === "string").map((v) => ({ ...v, roles: v.roles ?? [] }))),
      () => setViews([]));
  }, [base]);
  useEffect(load, [load]);

  const save = async () => {
    const name = window.prompt(t("views.namePrompt"));
    if (!name?.trim()) return;
    setError(null);
    try {
      await call("POST", base, { name: name.trim(), kind: current.view, filter: current.filter, sort: current.sort,
        options: current.by ? { by: current.by } : {} });
      load();
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    }
  };
  const remove = async (v: SavedView) => {
    try {
      await call("DELETE", `${base}/${encodeURIComponent(v.id)}`);
      load();
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    }
  };
  const share = async (v: SavedView, patch: { version: number; roles: string[]; labels: Record<string, string> }) => {
    await call("PATCH", `${base}/${encodeURIComponent(v.id)}`, patch);
    load();
  };
  const active = (v: SavedView) => v.filter === current.filter && v.sort === current.sort && v.kind === current.view;

  return (
    <div className="saved-views tabs" role="tablist" aria-label={t("views.title")} data-testid="saved-views">
      {views.map((v) => (
        <span key={v.id} className="saved-view">
          <button type="button" role="tab" aria-selected={active(v)} className={"btn btn-small" + (active(v) ? " btn-active" : "")}
            data-testid={`saved-view-${v.id}`}
            title={v.problems?.length ? v.problems.map((p) => problemText(p, t, (f) => f)).join("\n") : undefined}
            onClick={() => {
              // Parts naming what was removed are left out rather than failing the list.
              const bad = new Set((v.problems ?? []).map((p) => p.path));
              onPick({ view: v.kind === "list" ? null : v.kind, by: bad.has("/options/by") ? null : v.options?.by ?? null,
                filter: bad.has("/filter") ? null : v.filter || null, sort: bad.has("/sort") ? null : v.sort || null });
              setNotice(bad.size > 0 ? t("views.flagged") : null);
            }}>
            {v.labels?.[lang] || v.name}{v.roles.length > 0 ? " · " + t("views.shared") : ""}
            {(v.problems?.length ?? 0) > 0 && <span className="view-flag" data-testid={`saved-view-flag-${v.id}`} aria-label={t("views.flaggedTitle")}> ⚠</span>}
          </button>
          {admin && roles && (
            <button type="button" className="btn btn-small btn-link" aria-label={t("views.share")} title={t("views.share")}
              data-testid={`saved-view-share-${v.id}`} onClick={() => setSharing(v)}>⇪</button>
          )}
          {(v.roles.length === 0 || admin) && (
            <button type="button" className="btn btn-small btn-link" aria-label={t("views.delete")} data-testid={`saved-view-delete-${v.id}`}
              onClick={() => void remove(v)}>×</button>
          )}
        </span>
      ))}
      <button type="button" className="btn btn-small" data-testid="saved-view-save" onClick={() => void save()}>{t("views.save")}</button>
      {error && <span className="error small" role="alert" data-testid="saved-view-error">{error}</span>}
      {notice && <span className="small muted" role="status" data-testid="saved-view-notice">{notice}</span>}
      {sharing && roles && (
        <ShareView view={sharing} roles={roles} onSave={(p) => share(sharing, p)} onClose={() => setSharing(null)} />
      )}
    </div>
  );
}
