import { useEffect, useState } from "react";
import { api, ApiError, type AppDocument, type DashboardDef } from "../api";
import { entityLabel } from "../fields";
import { useI18n } from "../i18n";
import { labelIn } from "../labels";
import { href, type Route } from "../router";
import { ErrorBox, Loading } from "./common";
import { ListView } from "./ListView";
import { RecordForm } from "./RecordForm";
import { History } from "./History";
import { DashboardView } from "./Dashboard";
import { PoolLinks, PoolPage } from "./Assignment";
import { DuplicatesPage } from "./Duplicates";

export type AppRoute = Exclude<Extract<Route, { app: string }>, { name: "design" }>;

export function AppShell({ route, menuOpen, admin }: { route: AppRoute; menuOpen: boolean; admin?: boolean }) {
  const { t, lang } = useI18n();
  const [doc, setDoc] = useState<AppDocument | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [attempt, setAttempt] = useState(0);
  const [dashboards, setDashboards] = useState<DashboardDef[]>([]);

  useEffect(() => {
    let live = true;
    api.dashboards(route.app).then((d) => live && setDashboards(d.items ?? []), () => live && setDashboards([]));
    return () => {
      live = false;
    };
  }, [route.app, attempt]);

  useEffect(() => {
    let live = true;
    setDoc(null);
    setError(null);
    api.app(route.app).then((d) => live && setDoc(d), (e) => live && setError(e));
    return () => {
      live = false;
    };
  }, [route.app, attempt]);

  const current = "entity" in route ? route.entity : route.name === "dash" ? undefined : doc?.entities[0]?.name;
  const dash = route.name === "dash" ? dashboards.find((d) => d.name === route.dashboard) : undefined;
  const entity = doc?.entities.find((e) => e.name === current);

  let content;
  if (error) content = <ErrorBox error={error} onRetry={() => setAttempt((a) => a + 1)} />;
  else if (!doc) content = <Loading />;
  else if (route.name === "dash")
    content = dash ? <DashboardView key={route.dashboard} app={doc.name} def={dash} doc={doc} /> : <Loading />;
  else if (doc.entities.length === 0) content = <p className="muted">{t("nav.noEntities")}</p>;
  else if (!entity) content = <ErrorBox error={new ApiError(404, "not_found", current ?? "")} />;
  else if (route.name === "app" || route.name === "list")
    content = <ListView key={doc.name + "/" + entity.name} app={doc} entity={entity} />;
  else if (route.name === "new")
    content = <RecordForm key={"new/" + entity.name} app={doc} entity={entity} />;
  else if (route.name === "duplicates")
    content = <DuplicatesPage key={"dups/" + entity.name} app={doc} entity={entity} />;
  else if (route.name === "pool")
    content = <PoolPage key={entity.name + "/" + route.pool} app={doc} entity={entity} pool={route.pool} />;
  else if (route.name === "record")
    content = <RecordForm key={entity.name + "/" + route.id} app={doc} entity={entity} id={route.id} />;
  else content = <History key={entity.name + "/" + route.id} app={doc} entity={entity} id={route.id} />;

  return (
    <div className="shell">
      <nav className={"sidebar" + (menuOpen ? " open" : "")} aria-label={t("nav.entities")}>
        <a className="sidebar-app" href={href({ name: "apps" })}>← {t("header.allApps")}</a>
        <div className="sidebar-title">{doc ? labelIn(doc, lang) : route.app}</div>
        <ul>
          {doc?.entities.map((e) => (
            <li key={e.name}>
              <a href={href({ name: "list", app: doc.name, entity: e.name })} data-testid={`entity-link-${e.name}`}
                className={e.name === current ? "active" : undefined} aria-current={e.name === current ? "page" : undefined}>
                {entityLabel(e, lang)}
              </a>
            </li>
          ))}
        </ul>
        {dashboards.length > 0 && (
          <>
            <div className="sidebar-title">{t("nav.dashboards")}</div>
            <ul>
              {dashboards.map((d) => {
                const active = route.name === "dash" && route.dashboard === d.name;
                return (
                  <li key={d.name}>
                    <a href={href({ name: "dash", app: route.app, dashboard: d.name })} data-testid={`dash-link-${d.name}`}
                      className={active ? "active" : undefined} aria-current={active ? "page" : undefined}>{labelIn(d, lang)}</a>
                  </li>
                );
              })}
            </ul>
          </>
        )}
        <PoolLinks app={route.app} current={route.name === "pool" ? route.pool : undefined} />
        {admin && (
          <a className="sidebar-design" href={href({ name: "design", app: route.app })} data-testid="nav-design">{t("nav.design")}</a>
        )}
      </nav>
      <main className="main">{content}</main>
    </div>
  );
}
