import { lazy, Suspense, useCallback, useEffect, useState } from "react";
import { api, getToken, onUnauthorized, type User } from "./api";
import { LANGS, useI18n, type Lang } from "./i18n";
import { useInRouterContext } from "react-router";
import { href, navigate, Router, useRoute } from "./router";
import { Login } from "./components/Login";
import { Setup } from "./components/Setup";
// Screens behind the login are their own chunks: the login page loads only
// what it shows (see the README's bundle figures).
const AppList = lazy(() => import("./components/AppList").then((m) => ({ default: m.AppList })));
const AppShell = lazy(() => import("./components/AppShell").then((m) => ({ default: m.AppShell })));
const Designer = lazy(() => import("./components/Designer").then((m) => ({ default: m.Designer })));
const Admin = lazy(() => import("./components/Admin").then((m) => ({ default: m.Admin })));
const Approvals = lazy(() => import("./components/Approvals").then((m) => ({ default: m.Approvals })));
const Connectors = lazy(() => import("./components/Connectors").then((m) => ({ default: m.Connectors })));
const ResetPassword = lazy(() => import("./components/ResetPassword").then((m) => ({ default: m.ResetPassword })));
import { ErrorBox, Icon, Loading } from "./components/common";
// The bell is shown only once signed in: its own chunk too.
const Bell = lazy(() => import("./components/Bell").then((m) => ({ default: m.Bell })));
const AwayToggle = lazy(() => import("./components/Away").then((m) => ({ default: m.AwayToggle })));
import { ApiError } from "./api";

export function LangSwitch() {
  const { lang, setLang, t } = useI18n();
  return (
    <label className="lang-switch" title={t("header.language")}>
      <Icon.globe />
      <select aria-label={t("header.language")} value={lang} data-testid="lang-switch"
        onChange={(e) => setLang(e.target.value as Lang)}>
        {LANGS.map((l) => <option key={l} value={l}>{t(`lang.${l}`)}</option>)}
      </select>
    </label>
  );
}

export function App() {
  // Under a router already (tests render screens in one), App uses it.
  return useInRouterContext() ? <Shell /> : <Router><Shell /></Router>;
}

function Shell() {
  const { t } = useI18n();
  const route = useRoute();
  const [authed, setAuthed] = useState(() => !!getToken());
  const [sessionEnded, setSessionEnded] = useState(false);
  const [menuOpen, setMenuOpen] = useState(false);
  // The signed-in user (for the admin flag); undefined while asking.
  const [me, setMe] = useState<User | null | undefined>(undefined);

  useEffect(() => {
    if (!authed) {
      setMe(undefined);
      return;
    }
    let live = true;
    api.me().then((u) => live && setMe(u), () => live && setMe(null));
    return () => {
      live = false;
    };
  }, [authed]);
  const admin = !!me?.admin;

  useEffect(() => {
    onUnauthorized(() => {
      setAuthed(false);
      setSessionEnded(true);
    });
    return () => onUnauthorized(null);
  }, []);

  // Close the phone menu on every navigation.
  useEffect(() => setMenuOpen(false), [route]);

  const loggedIn = useCallback(() => {
    setAuthed(true);
    setSessionEnded(false);
    if (route.name === "login" || route.name === "setup" || route.name === "reset") navigate({ name: "apps" });
  }, [route.name]);

  async function logout() {
    try {
      await api.logout();
    } catch {
      /* the token is dropped either way */
    }
    setAuthed(false);
    setSessionEnded(false);
    navigate({ name: "login" });
  }

  const inApp = "app" in route && route.name !== "design" && route.name !== "connectors";

  return (
    <div className="layout">
      <header className="topbar">
        {authed && inApp && (
          <button type="button" className="btn btn-icon menu-toggle" aria-label={t("header.menu")} aria-expanded={menuOpen}
            data-testid="menu-toggle" onClick={() => setMenuOpen((o) => !o)}>
            <Icon.menu />
          </button>
        )}
        <a className="brand" href={href({ name: "apps" })}>{t("app.name")}</a>
        <div className="topbar-spacer" />
        {authed && admin && (
          <a className="btn btn-ghost" href={href({ name: "admin" })} data-testid="nav-admin">{t("header.admin")}</a>
        )}
        {authed && (
          <a className="btn btn-ghost topbar-approvals" href={href({ name: "approvals" })} data-testid="nav-approvals"
            aria-current={route.name === "approvals" ? "page" : undefined} title={t("header.approvals")}>
            <Icon.check /><span className="topbar-approvals-text">{t("header.approvals")}</span>
          </a>
        )}
        {authed && <Suspense fallback={null}><Bell /></Suspense>}
        <LangSwitch />
        {authed && me && (
          <details className="user-menu" data-testid="user-menu">
            <summary className="btn btn-ghost" data-testid="user-menu-open" title={me.name || me.email}>
              <Icon.user /><span className="user-menu-name">{me.name || me.email}</span>{me.profile?.away && <span className="tag cd-late" data-testid="user-away-tag">{t("away.on")}</span>}
            </summary>
            <div className="user-menu-body card">
              <Suspense fallback={null}><AwayToggle me={me} onChange={setMe} /></Suspense>
            </div>
          </details>
        )}
        {authed && (
          <button type="button" className="btn btn-ghost" data-testid="logout" onClick={logout}>{t("header.logout")}</button>
        )}
      </header>
      <Suspense fallback={<main className="main"><Loading /></main>}>
      {route.name === "reset" ? (
        <ResetPassword token={route.token} onLoggedIn={() => { loggedIn(); navigate({ name: "apps" }); }} />
      ) : !authed && route.name === "setup" ? (
        <Setup token={route.token} onLoggedIn={() => { loggedIn(); navigate({ name: "apps" }); }} />
      ) : !authed ? (
        <Login onLoggedIn={loggedIn} sessionEnded={sessionEnded} />
      ) : route.name === "admin" ? (
        <main className="main">
          {me === undefined ? <Loading /> : admin ? <Admin tab={route.tab} meId={me?.id} />
            : <ErrorBox error={new ApiError(403, "forbidden", "")} />}
        </main>
      ) : route.name === "approvals" ? (
        <main className="main"><Approvals tab={route.tab} /></main>
      ) : route.name === "connectors" ? (
        <main className="main">{me === undefined ? <Loading /> : <Connectors key={route.app ?? ""} app={route.app} admin={admin} />}</main>
      ) : !("app" in route) ? (
        <main className="main"><AppList admin={admin} /></main>
      ) : route.name === "design" ? (
        <main className="main">
          {me === undefined ? <Loading /> : admin ? <Designer key={route.app} app={route.app} draft={route.draft} />
            : <ErrorBox error={new ApiError(403, "forbidden", "")} />}
        </main>
      ) : (
        <AppShell route={route} menuOpen={menuOpen} admin={admin} />
      )}
      </Suspense>
    </div>
  );
}
