// References and users shown by name everywhere (lists, kanban cards,
// calendar, history): ids are looked up once per page load and cached —
// users through the directory (GET /api/directory/users?id=), records
// through GET /api/data/{app}/{entity}/{id} and the target's label field.
import { useEffect, useState } from "react";
import { api, type AppDocument, type DataRecord, type DirectoryUser } from "./api";
import { refLabel } from "./components/RefPicker";

const users = new Map<string, Promise<string>>();
const records = new Map<string, Promise<string>>();

export function userName(u: Pick<DirectoryUser, "name" | "email">): string {
  return u.name || u.email;
}

// rememberUser puts a user already at hand (a search answer, /me) in the cache.
export function rememberUser(u: DirectoryUser): void {
  users.set(u.id, Promise.resolve(userName(u)));
}

// rememberRecord caches a referenced record's label (from ?expand=).
export function rememberRecord(app: AppDocument, entity: string, r: DataRecord): void {
  records.set(`${app.name}/${entity}/${r.id}`, Promise.resolve(refLabel(app.entities.find((e) => e.name === entity), r)));
}

function lookupUser(id: string): Promise<string> {
  let p = users.get(id);
  if (!p) {
    p = api.directory({ id, limit: 1 }).then((r) => {
      const u = r.items?.find((x) => x.id === id) ?? r.items?.[0];
      return u ? userName(u) : id;
    }, () => id);
    users.set(id, p);
  }
  return p;
}

function lookupRecord(app: AppDocument, entity: string, id: string): Promise<string> {
  const key = `${app.name}/${entity}/${id}`;
  let p = records.get(key);
  if (!p) {
    p = api.get(app.name, entity, id).then((r) => refLabel(app.entities.find((e) => e.name === entity), r), () => id);
    records.set(key, p);
  }
  return p;
}

// A name wanted: a user id, or a record id of an entity.
export type NameKey = { kind: "user"; id: string } | { kind: "ref"; entity: string; id: string };

const keyOf = (k: NameKey) => (k.kind === "user" ? "u:" + k.id : `r:${k.entity}/${k.id}`);

// useNames resolves ids to names; until a name is known the id shows.
export function useNames(app: AppDocument | undefined, wanted: NameKey[]): (k: NameKey) => string {
  const [known, setKnown] = useState<Record<string, string>>({});
  const sig = wanted.map(keyOf).sort().join(",");
  useEffect(() => {
    let live = true;
    const seen = new Set<string>();
    for (const k of wanted) {
      const key = keyOf(k);
      if (seen.has(key) || !k.id) continue;
      seen.add(key);
      const p = k.kind === "user" ? lookupUser(k.id) : app ? lookupRecord(app, k.entity, k.id) : null;
      void p?.then((name) => {
        if (live) setKnown((old) => (old[key] === name ? old : { ...old, [key]: name }));
      });
    }
    return () => {
      live = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [sig, app]);
  return (k) => known[keyOf(k)] ?? k.id;
}

// forTests empties the caches.
export function clearNames(): void {
  users.clear();
  records.clear();
}
