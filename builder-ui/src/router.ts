// A tiny hash router: #/login, #/setup[/{token}] (the first admin), #/ (apps), #/a/{app}, #/a/{app}/{entity},
// #/a/{app}/{entity}/new, #/a/{app}/{entity}/{id}, #/a/{app}/{entity}/{id}/history;
// the designer: #/design/{app} (a stored app), #/design/{app}/new (an unsaved draft).
import { useEffect, useState } from "react";

export type Route =
  | { name: "login" }
  | { name: "setup"; token?: string }
  | { name: "apps" }
  | { name: "app"; app: string }
  | { name: "list"; app: string; entity: string }
  | { name: "new"; app: string; entity: string }
  | { name: "record"; app: string; entity: string; id: string }
  | { name: "history"; app: string; entity: string; id: string }
  | { name: "design"; app: string; draft?: boolean };

export function parseHash(hash: string): Route {
  const path = hash.replace(/^#/, "").split("?")[0];
  const parts = path.split("/").filter(Boolean).map((p) => {
    try {
      return decodeURIComponent(p);
    } catch {
      return p;
    }
  });
  if (parts[0] === "login") return { name: "login" };
  if (parts[0] === "setup") return parts[1] ? { name: "setup", token: parts[1] } : { name: "setup" };
  if (parts[0] === "design" && parts[1]) {
    return parts[2] === "new" ? { name: "design", app: parts[1], draft: true } : { name: "design", app: parts[1] };
  }
  if (parts[0] === "a" && parts[1]) {
    const app = parts[1];
    if (!parts[2]) return { name: "app", app };
    const entity = parts[2];
    if (!parts[3]) return { name: "list", app, entity };
    if (parts[3] === "new" && !parts[4]) return { name: "new", app, entity };
    if (parts[4] === "history") return { name: "history", app, entity, id: parts[3] };
    return { name: "record", app, entity, id: parts[3] };
  }
  return { name: "apps" };
}

const e = encodeURIComponent;

export function href(r: Route): string {
  switch (r.name) {
    case "login": return "#/login";
    case "setup": return "#/setup" + (r.token ? `/${e(r.token)}` : "");
    case "apps": return "#/";
    case "app": return `#/a/${e(r.app)}`;
    case "list": return `#/a/${e(r.app)}/${e(r.entity)}`;
    case "new": return `#/a/${e(r.app)}/${e(r.entity)}/new`;
    case "record": return `#/a/${e(r.app)}/${e(r.entity)}/${e(r.id)}`;
    case "history": return `#/a/${e(r.app)}/${e(r.entity)}/${e(r.id)}/history`;
    case "design": return `#/design/${e(r.app)}` + (r.draft ? "/new" : "");
  }
}

export function navigate(r: Route): void {
  window.location.hash = href(r);
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseHash(window.location.hash));
  useEffect(() => {
    const on = () => setRoute(parseHash(window.location.hash));
    window.addEventListener("hashchange", on);
    return () => window.removeEventListener("hashchange", on);
  }, []);
  return route;
}
