import { useCallback, useEffect, useState } from "react";
import { api, type AppDocument, type Entity, type HistoryEntry, type User } from "../api";
import { columnLabel, displaySystem, displayValue, entityLabel, isSystem } from "../fields";
import { useI18n, type MessageKey } from "../i18n";
import { useNames, type NameKey } from "../names";
import { href } from "../router";
import { ErrorBox, Loading } from "./common";

export function History({ app, entity, id }: { app: AppDocument; entity: Entity; id: string }) {
  const i18n = useI18n();
  const { t, lang } = i18n;
  const [items, setItems] = useState<HistoryEntry[] | null>(null);
  const [next, setNext] = useState<string | undefined>();
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [me, setMe] = useState<User | null>(null);

  useEffect(() => {
    let live = true;
    api.me().then((u) => live && setMe(u), () => undefined);
    return () => {
      live = false;
    };
  }, []);
  // Actors, user fields and references show by name (the record's own name too).
  const wanted: NameKey[] = [{ kind: "ref", entity: entity.name, id }];
  for (const h of items ?? []) {
    if (h.actor) wanted.push({ kind: "user", id: h.actor });
    for (const [name, c] of Object.entries(h.changes ?? {})) {
      const f = entity.fields.find((x) => x.name === name);
      const user = f?.type === "user" || name === "owner" || name === "created_by";
      for (const v of [c.old, c.new]) {
        if (typeof v !== "string" || !v) continue;
        if (user) wanted.push({ kind: "user", id: v });
        else if (f?.type === "ref") wanted.push({ kind: "ref", entity: f.entity ?? "", id: v });
      }
    }
  }
  const names = useNames(app, wanted);
  const who = (actor: string) => (me && actor === me.id ? me.name || me.email : names({ kind: "user", id: actor }));
  const recordName = names({ kind: "ref", entity: entity.name, id });

  const fetchPage = useCallback((cursor?: string) => {
    setBusy(true);
    setError(null);
    api.history(app.name, entity.name, id, { cursor, limit: 50 }).then(
      (r) => {
        setItems((old) => (cursor && old ? [...old, ...(r.items ?? [])] : r.items ?? []));
        setNext(r.nextCursor || undefined);
        setBusy(false);
      },
      (e) => {
        setError(e);
        setBusy(false);
      },
    );
  }, [app.name, entity.name, id]);

  useEffect(() => fetchPage(), [fetchPage]);

  const show = (name: string, v: unknown) => {
    const f = entity.fields.find((x) => x.name === name);
    if (typeof v === "string" && v) {
      if (f?.type === "user" || name === "owner" || name === "created_by") return names({ kind: "user", id: v });
      if (f?.type === "ref") return names({ kind: "ref", entity: f.entity ?? "", id: v });
    }
    return f ? displayValue(f, v, i18n) : isSystem(name) ? displaySystem(name, v, i18n) : displayValue(undefined, v, i18n);
  };
  const pathLabel = (p: string) =>
    ["web", "api", "import", "script", "flow", "system"].includes(p) ? t(`history.path.${p}` as MessageKey) : t("history.via", { path: p });
  const opLabel = (op: string) =>
    op === "create" || op === "update" || op === "delete" ? t(`history.op.${op}` as MessageKey) : op;

  return (
    <section className="page">
      <div className="page-head">
        <h1>{t("history.title")} · {entityLabel(entity, lang)}</h1>
        <p className="muted" data-testid="history-record">{t("history.record", { name: recordName })}</p>
        <div className="page-actions">
          <a className="btn btn-ghost" href={href({ name: "record", app: app.name, entity: entity.name, id })} data-testid="back-to-record">
            {t("history.backToRecord")}
          </a>
        </div>
      </div>
      {error ? <ErrorBox error={error} onRetry={() => fetchPage()} /> : null}
      {!items && !error && <Loading />}
      {items && items.length === 0 && <p className="muted">{t("history.empty")}</p>}
      {items && items.length > 0 && (
        <ol className="history">
          {items.map((h) => (
            <li key={h.id} className="card history-entry" data-testid="history-entry">
              <div className="history-head">
                <strong>{opLabel(h.op)}</strong>
                <time dateTime={h.at}>{i18n.dateTime(h.at)}</time>
                {h.actor && <span className="muted">{t("history.by", { who: who(h.actor) })}</span>}
                {h.path && <span className="muted small" data-testid="history-path" data-path={h.path}>{pathLabel(h.path)}</span>}
                {h.version !== undefined && <span className="muted small">{t("history.version", { n: h.version })}</span>}
              </div>
              <table className="changes">
                <thead>
                  <tr><th>{t("history.field")}</th><th>{t("history.old")}</th><th>{t("history.new")}</th></tr>
                </thead>
                <tbody>
                  {Object.entries(h.changes ?? {}).map(([name, c]) => (
                    <tr key={name} data-testid={`history-change-${name}`}>
                      <th scope="row">{columnLabel(name, entity.fields, t)}</th>
                      <td className="old">{show(name, c.old)}</td>
                      <td className="new">{show(name, c.new)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </li>
          ))}
        </ol>
      )}
      {next && (
        <button type="button" className="btn" disabled={busy} data-testid="history-more" onClick={() => fetchPage(next)}>
          {t("history.more")}
        </button>
      )}
    </section>
  );
}
