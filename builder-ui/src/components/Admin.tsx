// The Admin area (admins): users — invite (a one-time link to choose a
// password), name, roles, team, deactivate/reactivate, reset password —
// nested teams, the audit log with its action filter, and the durable jobs
// (AdminJobs.tsx). Everything goes
// through /api/admin/*, so the server's checks apply (an admin cannot
// deactivate themselves, a team in use cannot be deleted…).
import { useCallback, useEffect, useState, type FormEvent } from "react";
import { api, ApiError, type AdminUser, type AuditRecord, type Team, type UserProfile } from "../api";
import { useI18n, type MessageKey } from "../i18n";
import { href } from "../router";
import { Jobs } from "./AdminJobs";
import { Webhooks } from "./AdminWebhooks";
import { ErrorBox, errorText, Icon, Loading } from "./common";

export type AdminTab = "users" | "teams" | "audit" | "jobs" | "webhooks";
const TABS: AdminTab[] = ["users", "teams", "audit", "jobs", "webhooks"];
const DEFAULT_ROLES = ["rep", "manager", "executive"];
export const AUDIT_ACTIONS = [
  "login", "login_failed", "logout", "token_create", "token_revoke", "app_apply", "user_create", "user_update",
  "password_reset", "team_change", "user_transfer", "webhook_secret_read", "webhook_secret_rotate", "webhook_settings",
];

// resetLink is the link a person opens to choose a password.
export function resetLink(token: string): string {
  return `${window.location.origin}${window.location.pathname}#/reset/${encodeURIComponent(token)}`;
}

// teamPaths names every team by its path from the top ("Sales / East").
export function teamPaths(teams: Team[]): Map<string, string> {
  const byId = new Map(teams.map((t) => [t.id, t]));
  const out = new Map<string, string>();
  for (const t of teams) {
    const parts: string[] = [];
    let cur: Team | undefined = t;
    const seen = new Set<string>();
    while (cur && !seen.has(cur.id)) {
      seen.add(cur.id);
      parts.unshift(cur.name);
      cur = cur.parentId ? byId.get(cur.parentId) : undefined;
    }
    out.set(t.id, parts.join(" / "));
  }
  return out;
}

// The role names offered: the defaults and every role an app defines.
async function knownRoles(): Promise<string[]> {
  const names = new Set(DEFAULT_ROLES);
  try {
    const apps = (await api.apps()).items ?? [];
    const docs = await Promise.all(apps.map((a) => api.app(a.name).catch(() => null)));
    for (const d of docs) for (const r of d?.roles ?? []) names.add(r.name);
  } catch {
    /* the defaults will do */
  }
  return [...names];
}

export function Admin({ tab, meId }: { tab?: string; meId?: string }) {
  const { t } = useI18n();
  const current: AdminTab = TABS.includes(tab as AdminTab) ? (tab as AdminTab) : "users";
  return (
    <section className="page admin">
      <div className="page-head">
        <h1>{t("admin.title")}</h1>
      </div>
      <nav className="tabs" aria-label={t("admin.title")}>
        {TABS.map((x) => (
          <a key={x} className={"btn btn-small" + (x === current ? " btn-active" : "")} aria-current={x === current ? "page" : undefined}
            href={href({ name: "admin", tab: x })} data-testid={`admin-tab-${x}`}>{t(`admin.tab.${x}` as MessageKey)}</a>
        ))}
        <a className="btn btn-small" href={href({ name: "connectors" })} data-testid="admin-connectors">{t("plugins.title")}</a>
      </nav>
      {current === "users" && <Users meId={meId} />}
      {current === "teams" && <Teams />}
      {current === "audit" && <Audit />}
      {current === "jobs" && <Jobs />}
      {current === "webhooks" && <Webhooks />}
    </section>
  );
}

function CopyLink({ link, testId }: { link: string; testId: string }) {
  const { t } = useI18n();
  const [copied, setCopied] = useState(false);
  return (
    <div className="copy-link">
      <input readOnly value={link} data-testid={testId} onFocus={(e) => e.target.select()} />
      <button type="button" className="btn btn-small" data-testid={`${testId}-copy`} onClick={() => {
        void navigator.clipboard?.writeText(link).then(() => setCopied(true), () => undefined);
      }}>{copied ? t("admin.copied") : t("admin.copy")}</button>
    </div>
  );
}

function RolePicker({ roles, value, onChange, testId }: { roles: string[]; value: string[]; onChange: (v: string[]) => void; testId: string }) {
  const all = [...new Set([...roles, ...value])];
  return (
    <span className="role-picker" data-testid={testId}>
      {all.map((r) => (
        <label key={r} className="check">
          <input type="checkbox" checked={value.includes(r)} data-testid={`${testId}-${r}`}
            onChange={(e) => onChange(e.target.checked ? [...value, r] : value.filter((x) => x !== r))} />
          {r}
        </label>
      ))}
    </span>
  );
}

function TeamSelect({ teams, value, onChange, testId, exclude }: { teams: Team[]; value: string; onChange: (v: string) => void; testId: string; exclude?: string }) {
  const { t } = useI18n();
  const paths = teamPaths(teams);
  return (
    <select value={value} data-testid={testId} onChange={(e) => onChange(e.target.value)}>
      <option value="">{t("admin.noTeam")}</option>
      {teams.filter((x) => x.id !== exclude).sort((a, b) => paths.get(a.id)!.localeCompare(paths.get(b.id)!))
        .map((x) => <option key={x.id} value={x.id}>{paths.get(x.id)}</option>)}
    </select>
  );
}

// ManagerSelect picks a team's manager among the active users; a manager
// deactivated since stays listed (marked) so the choice shows as it is.
function ManagerSelect({ users, value, onChange, testId }: { users: AdminUser[]; value: string; onChange: (v: string) => void; testId: string }) {
  const { t } = useI18n();
  const name = (u: AdminUser) => u.name || u.email;
  const shown = users.filter((u) => u.active || u.id === value).sort((a, b) => name(a).localeCompare(name(b)));
  return (
    <select value={value} data-testid={testId} aria-label={t("admin.manager")} onChange={(e) => onChange(e.target.value)}>
      <option value="">{t("admin.noManager")}</option>
      {value && !users.some((u) => u.id === value) && <option value={value}>{value}</option>}
      {shown.map((u) => <option key={u.id} value={u.id}>{u.active ? name(u) : t("admin.deactivatedUser", { name: name(u) })}</option>)}
    </select>
  );
}

function Users({ meId }: { meId?: string }) {
  const { t } = useI18n();
  const [users, setUsers] = useState<AdminUser[] | null>(null);
  const [teams, setTeams] = useState<Team[]>([]);
  const [roles, setRoles] = useState<string[]>(DEFAULT_ROLES);
  const [error, setError] = useState<unknown>(null);
  const [inviting, setInviting] = useState(false);
  const [link, setLink] = useState<{ email: string; link: string; kind: "invite" | "reset" } | null>(null);
  const [editing, setEditing] = useState<string | null>(null);
  const [rowError, setRowError] = useState<{ id: string; message: string } | null>(null);

  const load = useCallback(() => {
    setError(null);
    Promise.all([api.users(), api.teams()]).then(([u, tm]) => {
      setUsers(u.items ?? []);
      setTeams(tm.items ?? []);
    }, setError);
  }, []);
  useEffect(() => {
    load();
    void knownRoles().then(setRoles);
  }, [load]);

  const paths = teamPaths(teams);
  const replace = (u: AdminUser) => setUsers((xs) => xs?.map((x) => (x.id === u.id ? u : x)) ?? xs);

  async function setActive(u: AdminUser, active: boolean) {
    setRowError(null);
    try {
      replace(await api.updateUser(u.id, { active }));
    } catch (e) {
      setRowError({ id: u.id, message: errorText(e, t) });
    }
  }
  async function reset(u: AdminUser) {
    setRowError(null);
    try {
      const r = await api.resetUserPassword(u.id);
      setLink({ email: u.email, link: resetLink(r.resetToken), kind: "reset" });
    } catch (e) {
      setRowError({ id: u.id, message: errorText(e, t) });
    }
  }

  if (error) return <ErrorBox error={error} onRetry={load} />;
  if (!users) return <Loading />;
  return (
    <div>
      <div className="admin-actions">
        <button type="button" className="btn btn-primary" data-testid="invite-open" onClick={() => { setInviting(true); setLink(null); }}>
          <Icon.plus /> {t("admin.invite")}
        </button>
      </div>
      {inviting && (
        <InviteForm roles={roles} teams={teams} onCancel={() => setInviting(false)} onDone={(u, token) => {
          setInviting(false);
          setUsers((xs) => [...(xs ?? []), u]);
          setLink({ email: u.email, link: resetLink(token), kind: "invite" });
        }} />
      )}
      {link && (
        <div className="alert alert-ok" role="status" data-testid="invite-result">
          <p>{t(link.kind === "invite" ? "admin.inviteLink" : "admin.resetLink", { email: link.email })}</p>
          <CopyLink link={link.link} testId="invite-link" />
          <p className="small muted">{t("admin.linkOnce")}</p>
        </div>
      )}
      <div className="table-wrap">
        <table className="list admin-users">
          <thead>
            <tr>
              <th>{t("admin.name")}</th><th>{t("login.email")}</th><th>{t("admin.roles")}</th><th>{t("admin.team")}</th>
              <th>{t("admin.profile")}</th><th>{t("admin.status")}</th><th>{t("admin.actions")}</th>
            </tr>
          </thead>
          <tbody>
            {users.map((u) => editing === u.id ? (
              <EditUserRow key={u.id} u={u} roles={roles} teams={teams} onCancel={() => setEditing(null)}
                onSaved={(x) => { replace(x); setEditing(null); }} />
            ) : (
              <tr key={u.id} data-testid={`user-row-${u.email}`} className={u.active ? undefined : "inactive"}>
                <td data-label={t("admin.name")}>{u.name || "—"}{u.admin && <span className="tag">{t("admin.admin")}</span>}</td>
                <td data-label={t("login.email")}>{u.email}</td>
                <td data-label={t("admin.roles")}>{(u.roles ?? []).join(", ") || "—"}</td>
                <td data-label={t("admin.team")}>{u.teamId ? paths.get(u.teamId) ?? u.teamId : "—"}</td>
                <td data-label={t("admin.profile")} data-testid="user-profile"><ProfileSummary u={u} /></td>
                <td data-label={t("admin.status")} data-testid="user-status">{u.active ? t("admin.active") : t("admin.inactive")}</td>
                <td data-label={t("admin.actions")} className="row-actions-cell">
                  <button type="button" className="btn btn-small" data-testid="user-edit" onClick={() => setEditing(u.id)}>{t("admin.edit")}</button>
                  <button type="button" className="btn btn-small" data-testid="user-reset" onClick={() => void reset(u)}>{t("admin.resetPassword")}</button>
                  {u.id !== meId && (u.active ? (
                    <button type="button" className="btn btn-small danger-text" data-testid="user-deactivate" onClick={() => void setActive(u, false)}>{t("admin.deactivate")}</button>
                  ) : (
                    <button type="button" className="btn btn-small" data-testid="user-reactivate" onClick={() => void setActive(u, true)}>{t("admin.reactivate")}</button>
                  ))}
                  {rowError?.id === u.id && <span className="field-error" role="alert" data-testid="user-error">{rowError.message}</span>}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </div>
  );
}

function InviteForm({ roles, teams, onDone, onCancel }: {
  roles: string[]; teams: Team[]; onDone: (u: AdminUser, token: string) => void; onCancel: () => void;
}) {
  const { t } = useI18n();
  const [email, setEmail] = useState("");
  const [name, setName] = useState("");
  const [picked, setPicked] = useState<string[]>(["rep"]);
  const [teamId, setTeamId] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  async function submit(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const r = await api.inviteUser({ email: email.trim(), name: name.trim() || undefined, roles: picked, teamId: teamId || undefined });
      onDone(r.user, r.resetToken);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }
  return (
    <form className="card admin-form" onSubmit={submit} data-testid="invite-form" noValidate>
      <h2 className="panel-title">{t("admin.invite")}</h2>
      <p className="small muted">{t("admin.inviteIntro")}</p>
      {error ? <ErrorBox error={error} testId="invite-error" /> : null}
      <label className="field">
        <span className="field-label">{t("login.email")}</span>
        <input type="email" value={email} required data-testid="invite-email" onChange={(e) => setEmail(e.target.value)} />
      </label>
      <label className="field">
        <span className="field-label">{t("admin.name")}</span>
        <input value={name} data-testid="invite-name" onChange={(e) => setName(e.target.value)} />
      </label>
      <div className="field">
        <span className="field-label">{t("admin.roles")}</span>
        <RolePicker roles={roles} value={picked} onChange={setPicked} testId="invite-roles" />
      </div>
      <label className="field">
        <span className="field-label">{t("admin.team")}</span>
        <TeamSelect teams={teams} value={teamId} onChange={setTeamId} testId="invite-team" />
      </label>
      <div className="dialog-footer">
        <button type="button" className="btn" onClick={onCancel}>{t("common.cancel")}</button>
        <button type="submit" className="btn btn-primary" disabled={busy || !email.trim()} data-testid="invite-submit">{t("admin.inviteSend")}</button>
      </div>
    </form>
  );
}

function EditUserRow({ u, roles, teams, onSaved, onCancel }: {
  u: AdminUser; roles: string[]; teams: Team[]; onSaved: (u: AdminUser) => void; onCancel: () => void;
}) {
  const { t } = useI18n();
  const [name, setName] = useState(u.name ?? "");
  const [picked, setPicked] = useState<string[]>(u.roles ?? []);
  const [teamId, setTeamId] = useState(u.teamId ?? "");
  const [profile, setProfile] = useState<UserProfile>(u.profile ?? {});
  const [error, setError] = useState<string | null>(null);
  async function save() {
    setError(null);
    try {
      // The profile only when it changed (skills, region, away).
      const p: UserProfile = { skills: profile.skills ?? [], region: profile.region ?? "", away: !!profile.away };
      if (profile.away && profile.awayUntil) p.awayUntil = profile.awayUntil;
      const was = u.profile ?? {};
      const changed = JSON.stringify(p.skills) !== JSON.stringify(was.skills ?? []) || p.region !== (was.region ?? "") || p.away !== !!was.away;
      onSaved(await api.updateUser(u.id, { name, roles: picked, teamId, ...(changed ? { profile: p } : {}) }));
    } catch (e) {
      setError(errorText(e, t));
    }
  }
  return (
    <tr data-testid={`user-row-${u.email}`} className="editing">
      <td><input value={name} aria-label={t("admin.name")} data-testid="user-edit-name" onChange={(e) => setName(e.target.value)} /></td>
      <td>{u.email}</td>
      <td><RolePicker roles={roles} value={picked} onChange={setPicked} testId="user-edit-roles" /></td>
      <td><TeamSelect teams={teams} value={teamId} onChange={setTeamId} testId="user-edit-team" /></td>
      <td><ProfileFields value={profile} onChange={setProfile} /></td>
      <td>{u.active ? t("admin.active") : t("admin.inactive")}</td>
      <td className="row-actions-cell">
        <button type="button" className="btn btn-small btn-primary" data-testid="user-save" onClick={() => void save()}>{t("admin.save")}</button>
        <button type="button" className="btn btn-small" onClick={onCancel}>{t("common.cancel")}</button>
        {error && <span className="field-error" role="alert" data-testid="user-error">{error}</span>}
      </td>
    </tr>
  );
}

function Teams() {
  const { t } = useI18n();
  const [teams, setTeams] = useState<Team[] | null>(null);
  const [users, setUsers] = useState<AdminUser[]>([]);
  const [error, setError] = useState<unknown>(null);
  const [name, setName] = useState("");
  const [parent, setParent] = useState("");
  const [manager, setManager] = useState("");
  const [problem, setProblem] = useState<string | null>(null);
  const load = useCallback(() => {
    setError(null);
    api.teams().then((r) => setTeams(r.items ?? []), setError);
  }, []);
  useEffect(() => {
    api.users().then((r) => setUsers(r.items ?? []), () => undefined);
  }, []);
  useEffect(load, [load]);

  async function act(f: () => Promise<unknown>) {
    setProblem(null);
    try {
      await f();
      load();
    } catch (e) {
      setProblem(e instanceof ApiError && e.code === "in_use" ? t("admin.teamInUse") : errorText(e, t));
    }
  }

  if (error) return <ErrorBox error={error} onRetry={load} />;
  if (!teams) return <Loading />;
  // The tree: children under their parent, indented.
  const kids = (id: string) => teams.filter((x) => (x.parentId ?? "") === id).sort((a, b) => a.name.localeCompare(b.name));
  const rows: { team: Team; depth: number }[] = [];
  const walk = (id: string, depth: number, seen: Set<string>) => {
    for (const k of kids(id)) {
      if (seen.has(k.id)) continue;
      seen.add(k.id);
      rows.push({ team: k, depth });
      walk(k.id, depth + 1, seen);
    }
  };
  walk("", 0, new Set());
  return (
    <div>
      <form className="inline-form" data-testid="team-form" onSubmit={(e) => {
        e.preventDefault();
        if (name.trim()) void act(() => api.createTeam({ name: name.trim(), parentId: parent || undefined, managerId: manager || undefined })).then(() => {
          setName("");
          setManager("");
        });
      }}>
        <input value={name} placeholder={t("admin.teamName")} aria-label={t("admin.teamName")} data-testid="team-name" onChange={(e) => setName(e.target.value)} />
        <label className="inline-field"><span className="small muted">{t("admin.parentTeam")}</span>
          <TeamSelect teams={teams} value={parent} onChange={setParent} testId="team-parent" /></label>
        <label className="inline-field"><span className="small muted">{t("admin.manager")}</span>
          <ManagerSelect users={users} value={manager} onChange={setManager} testId="team-manager" /></label>
        <button type="submit" className="btn btn-primary" disabled={!name.trim()} data-testid="team-add"><Icon.plus /> {t("admin.addTeam")}</button>
      </form>
      <p className="small muted" data-testid="team-manager-hint">{t("admin.managerHint")}</p>
      {problem && <div className="alert alert-error" role="alert" data-testid="team-error">{problem}</div>}
      {rows.length === 0 ? <p className="muted" data-testid="teams-empty">{t("admin.noTeams")}</p> : (
        <ul className="team-tree">
          {rows.map(({ team, depth }) => (
            <TeamRow key={team.id} team={team} depth={depth} teams={teams} users={users}
              onManager={(m) => void act(() => api.updateTeam(team.id, { managerId: m || null }))} onRename={(n) => void act(() => api.updateTeam(team.id, { name: n }))}
              onMove={(p) => void act(() => api.updateTeam(team.id, { parentId: p }))} onDelete={() => void act(() => api.deleteTeam(team.id))} />
          ))}
        </ul>
      )}
    </div>
  );
}

function TeamRow({ team, depth, teams, users, onRename, onMove, onManager, onDelete }: {
  team: Team; depth: number; teams: Team[]; users: AdminUser[]; onRename: (n: string) => void; onMove: (parent: string) => void;
  onManager: (managerId: string) => void; onDelete: () => void;
}) {
  const { t } = useI18n();
  const [name, setName] = useState(team.name);
  return (
    <li className="team-row" style={{ paddingInlineStart: depth * 24 }} data-testid={`team-${team.name}`}>
      <input value={name} aria-label={t("admin.teamName")} onChange={(e) => setName(e.target.value)}
        onBlur={() => name.trim() && name !== team.name && onRename(name.trim())} />
      <label className="inline-field"><span className="small muted">{t("admin.parentTeam")}</span>
        <TeamSelect teams={teams} value={team.parentId ?? ""} exclude={team.id} onChange={onMove} testId={`team-parent-${team.name}`} /></label>
      <label className="inline-field"><span className="small muted">{t("admin.manager")}</span>
        <ManagerSelect users={users} value={team.managerId ?? ""} onChange={onManager} testId={`team-manager-${team.name}`} /></label>
      <button type="button" className="btn btn-small btn-ghost danger-text" data-testid={`team-delete-${team.name}`} onClick={onDelete}>{t("admin.delete")}</button>
    </li>
  );
}

function Audit() {
  const i18n = useI18n();
  const { t } = i18n;
  const [action, setAction] = useState("");
  const [items, setItems] = useState<AuditRecord[] | null>(null);
  const [next, setNext] = useState<string | undefined>();
  const [error, setError] = useState<unknown>(null);
  const [users, setUsers] = useState<Map<string, string>>(new Map());
  const fetchPage = useCallback((cursor?: string) => {
    setError(null);
    api.audit({ action: action || undefined, limit: 50, cursor }).then((r) => {
      setItems((old) => (cursor && old ? [...old, ...(r.items ?? [])] : r.items ?? []));
      setNext(r.nextCursor || undefined);
    }, setError);
  }, [action]);
  useEffect(() => fetchPage(), [fetchPage]);
  useEffect(() => {
    api.users().then((r) => setUsers(new Map((r.items ?? []).map((u) => [u.id, u.name || u.email]))), () => undefined);
  }, []);
  const label = (a: string) => (AUDIT_ACTIONS.includes(a) ? t(`audit.${a}` as MessageKey) : a);
  return (
    <div>
      <label className="inline-field">
        <span className="small muted">{t("admin.auditFilter")}</span>
        <select value={action} data-testid="audit-action" onChange={(e) => setAction(e.target.value)}>
          <option value="">{t("admin.auditAll")}</option>
          {AUDIT_ACTIONS.map((a) => <option key={a} value={a}>{label(a)}</option>)}
        </select>
      </label>
      {error ? <ErrorBox error={error} onRetry={() => fetchPage()} /> : null}
      {!items && !error && <Loading />}
      {items && items.length === 0 && <p className="muted" data-testid="audit-empty">{t("admin.auditEmpty")}</p>}
      {items && items.length > 0 && (
        <div className="table-wrap">
          <table className="list audit">
            <thead><tr><th>{t("admin.when")}</th><th>{t("admin.who")}</th><th>{t("admin.what")}</th><th>{t("admin.target")}</th><th>{t("admin.detail")}</th><th>IP</th></tr></thead>
            <tbody>
              {items.map((a, i) => (
                <tr key={a.id ?? i} data-testid="audit-row" data-action={a.action}>
                  <td data-label={t("admin.when")}>{i18n.dateTime(a.at)}</td>
                  <td data-label={t("admin.who")}>{a.actor ? users.get(a.actor) ?? a.actor : "—"}</td>
                  <td data-label={t("admin.what")}>{label(a.action)}</td>
                  <td data-label={t("admin.target")}>{a.target ? users.get(a.target) ?? a.target : "—"}</td>
                  <td data-label={t("admin.detail")} className="mono small">{a.detail && JSON.stringify(a.detail) !== "null" ? JSON.stringify(a.detail) : ""}</td>
                  <td data-label="IP" className="small">{a.ip ?? ""}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {next && <button type="button" className="btn" data-testid="audit-more" onClick={() => fetchPage(next)}>{t("history.more")}</button>}
    </div>
  );
}

// A user's profile for assignment rules: skills, region, away.
function ProfileSummary({ u }: { u: AdminUser }) {
  const { t } = useI18n();
  const p = u.profile ?? {};
  if (!p.skills?.length && !p.region && !p.away) return <>—</>;
  return (
    <span className="profile-summary">
      {(p.skills ?? []).map((s) => <span key={s} className="tag">{s}</span>)}
      {p.region && <span className="muted small"> {p.region}</span>}
      {p.away && <span className="tag cd-late">{t("away.on")}</span>}
    </span>
  );
}

function ProfileFields({ value, onChange }: { value: UserProfile; onChange: (p: UserProfile) => void }) {
  const { t } = useI18n();
  const [typed, setTyped] = useState("");
  const skills = value.skills ?? [];
  const add = (raw: string) => {
    const s = raw.trim();
    if (s && !skills.includes(s)) onChange({ ...value, skills: [...skills, s] });
    setTyped("");
  };
  return (
    <div className="profile-fields" data-testid="user-edit-profile">
      <div className="tag-input">
        {skills.map((s) => (
          <span key={s} className="tag" data-testid="user-skill">
            {s}
            <button type="button" className="btn btn-icon btn-small" aria-label={t("admin.removeSkill", { skill: s })}
              onClick={() => onChange({ ...value, skills: skills.filter((x) => x !== s) })}>×</button>
          </span>
        ))}
        <input value={typed} placeholder={t("admin.skills")} aria-label={t("admin.skills")} data-testid="user-edit-skills"
          onChange={(e) => (e.target.value.endsWith(",") ? add(e.target.value.slice(0, -1)) : setTyped(e.target.value))}
          onKeyDown={(e) => { if (e.key === "Enter") { e.preventDefault(); add(typed); } }}
          onBlur={() => typed && add(typed)} />
      </div>
      <input value={value.region ?? ""} placeholder={t("admin.region")} aria-label={t("admin.region")} data-testid="user-edit-region"
        onChange={(e) => onChange({ ...value, region: e.target.value })} />
      <label className="check">
        <input type="checkbox" checked={!!value.away} data-testid="user-edit-away" onChange={(e) => onChange({ ...value, away: e.target.checked, awayUntil: e.target.checked ? value.awayUntil : null })} />
        <span>{t("away.label")}</span>
      </label>
    </div>
  );
}
