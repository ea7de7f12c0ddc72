// The designer's Assignment tab: the draft document's lead-distribution
// rules on the left, the selected rule on the right — label and name,
// entity and the user field that receives the winner, the candidates
// (roles, teams, users, a condition over the user), the strategy with a
// sentence that explains it, capacity and the open-load filter, the
// statistics a score reads and the score expression (statistic names and
// helpers offered as one types), working hours, fallbacks, who may
// reassign, the claim pool, the first-contact countdown with its escalation
// steps (reordered by drag and drop, keyboard too) and A/B variants — plus
// a preview that scores the candidates for a chosen record (POST
// …/assignments/{name}/preview with the draft) and the variants report.
// Problems the server finds on publish show at the input their JSON
// pointer (/assignments/i/…) names.
import { useEffect, useMemo, useState, type ReactNode } from "react";
import { api, ApiError, type Decision, type Entity, type ErrorDetail, type Field, type Team } from "../api";
import {
  assignmentsOf, blankAssignment, cleanAssignment, datetimeFields, isPlacedAssignment, newStatistic, setStatKind, STAT_KINDS, statisticFields,
  STEP_DOS, STRATEGIES, userFields, withAssignments, type Assignment, type AssignmentVariant, type Candidates, type CountdownStep, type StatKind,
  type Statistic, type StepDo, type Strategy,
} from "../designer/assignments";
import { automationsWithProblems, moveIn, nextVariantName, percentages, problemsOf, ruleFields, timeZones, browserTimeZone, uniqueAutomationName } from "../designer/automations";
import { NAME_RE, type DDoc, type DEntity } from "../designer/model";
import { filterableFields } from "../filter";
import { useI18n, type MessageKey } from "../i18n";
import { problemText } from "../problems";
import { DndArea, DragRow, DropList, type DropAt } from "../dnd";
import { ConditionInput, FieldProblems, fieldName, type ProblemsAt } from "./AutomationsEditor";
import { RecordRun, VariantsReport } from "./AutomationsRuns";
import { DecisionTable } from "./Assignment";
import { ErrorBox, Icon } from "./common";
import { DeleteDialog } from "./Dialog";
import { ExpressionEditor } from "./ExpressionEditor";
import { LabelsInputs, orNone } from "./LabelsInputs";
import { UserPicker } from "./RefPicker";

// OptionalSection: a part of the rule that is on when its title's box is checked.
function OptionalSection({ testId, title, hint, on, onToggle, children }: {
  testId: string; title: string; hint: string; on: boolean; onToggle: (on: boolean) => void; children: ReactNode;
}) {
  return (
    <section className="auto-section" data-testid={testId}>
      <h3 className="panel-title">
        <label className="check">
          <input type="checkbox" checked={on} data-testid={testId + "-on"} onChange={(e) => onToggle(e.target.checked)} />
          <span>{title}</span>
        </label>
      </h3>
      <p className="muted small">{hint}</p>
      {on && children}
    </section>
  );
}

const shownLabel = (a: Assignment, lang: string) => a.labels?.[lang] || a.label || a.name;

// The user attributes a candidate condition reads (schema: Candidates.Condition).
export function userConditionFields(t: (k: MessageKey) => string): Field[] {
  return (["name", "email", "team", "region", "skills", "roles"] as const).map((n) => ({
    id: "user_" + n, name: n, label: t(`asg.user.${n}` as MessageKey), type: "text",
  }));
}

export function AssignmentsEditor({ doc, onChange, problems }: {
  doc: DDoc; onChange: (d: DDoc) => void; problems?: ErrorDetail[];
}) {
  const { t, lang } = useI18n();
  const list = assignmentsOf(doc);
  const [sel, setSel] = useState(0);
  const [deleting, setDeleting] = useState<number | null>(null);
  const [teams, setTeams] = useState<Team[] | null>(null);
  const bad = useMemo(() => automationsWithProblems(problems ?? [], "assignments"), [problems]);
  const ai = Math.min(sel, list.length - 1);
  const a = ai >= 0 ? list[ai] : undefined;

  useEffect(() => {
    let live = true;
    api.teams().then((r) => live && setTeams(r.items ?? []), () => live && setTeams(null));
    return () => {
      live = false;
    };
  }, []);
  useEffect(() => {
    const first = [...bad][0];
    if (first !== undefined) setSel(first);
  }, [bad]);

  const setList = (l: Assignment[]) => onChange(withAssignments(doc, l));
  const setAt = (i: number, x: Assignment) => setList(list.map((y, j) => (j === i ? cleanAssignment(x) : y)));

  return (
    <div className="auto-editor" data-testid="asg-editor">
      <aside className="designer-col auto-list" aria-label={t("asg.title")}>
        <h2 className="panel-title">{t("asg.title")}</h2>
        {list.length === 0 && <p className="muted small" data-testid="asg-none">{t("asg.none")}</p>}
        <ul className="designer-list">
          {list.map((x, i) => (
            <li key={i}>
              <button type="button" className={"designer-item" + (i === ai ? " active" : "") + (bad.has(i) ? " has-error" : "")}
                aria-current={i === ai || undefined} data-testid={`asg-item-${x.name}`} onClick={() => setSel(i)}>
                <span>{shownLabel(x, lang)}</span>
                <span className="muted small">{t(`asg.strategy.${x.strategy}` as MessageKey)}{x.pool ? " · " + t("asg.pool") : ""}</span>
              </button>
            </li>
          ))}
        </ul>
        <button type="button" className="btn btn-block" data-testid="asg-add" disabled={doc.entities.length === 0}
          onClick={() => { setList([...list, blankAssignment(doc)]); setSel(list.length); }}>
          <Icon.plus /> {t("asg.add")}
        </button>
      </aside>
      <div className="designer-col auto-main">
        {a ? (
          <RuleEditor key={ai} doc={doc} a={a} index={ai} teams={teams} problems={problemsOf(problems ?? [], ai, "assignments")}
            onChange={(x) => setAt(ai, x)} onDelete={() => setDeleting(ai)}
            onDuplicate={() => { setList([...list, { ...structuredClone(a), name: uniqueAutomationName(a.name + "_copy", list.map((y) => y.name)) }]); setSel(list.length); }} />
        ) : (
          <p className="muted">{t("asg.pickOrAdd")}</p>
        )}
      </div>
      {deleting !== null && list[deleting] && (
        <DeleteDialog title={t("asg.deleteTitle")} testId="asg-delete-dialog" confirmTestId="asg-delete-confirm" confirm={t("asg.delete")}
          cancel={t("common.cancel")} text={t("asg.deleteConfirm", { name: list[deleting].label || list[deleting].name })} onClose={() => setDeleting(null)}
          onConfirm={() => { setList(list.filter((_, j) => j !== deleting)); setSel(Math.max(0, deleting - 1)); setDeleting(null); }} />
      )}
    </div>
  );
}

type Panel = "rule" | "preview" | "ab";

function RuleEditor({ doc, a, index, teams, problems, onChange, onDuplicate, onDelete }: {
  doc: DDoc; a: Assignment; index: number; teams: Team[] | null; problems: ErrorDetail[];
  onChange: (a: Assignment) => void; onDuplicate: () => void; onDelete: () => void;
}) {
  const { t, lang } = useI18n();
  const [panel, setPanel] = useState<Panel>("rule");
  // Problems the preview found in the draft (/rule/… → /…), shown at the inputs as the server's are.
  const [previewProblems, setPreviewProblems] = useState<ErrorDetail[]>([]);
  const all = [...problems, ...previewProblems];
  const entity = doc.entities.find((e) => e.name === a.entity);
  const fields = ruleFields(entity);
  const label = (name: string) => {
    const f = fields.find((x) => x.name === name);
    return f ? f.label || f.name : name;
  };
  const at: ProblemsAt = (path, deep = false) => all
    .filter((p) => p.path === path || (deep && p.path.startsWith(path + "/")))
    .map((p) => problemText(p, t, label));
  const loose = all.filter((p) => !isPlacedAssignment(p.path));
  const taken = assignmentsOf(doc).some((x, i) => i !== index && x.name === a.name);
  const set = (p: Partial<Assignment>) => onChange({ ...a, ...p });
  const roles = doc.roles ?? [];

  return (
    <div className="auto-rule" data-testid="asg-rule">
      <div className="auto-rule-head">
        <h2 className="panel-title">{shownLabel(a, lang)}</h2>
        <div className="tabs" role="tablist">
          {(["rule", "preview", ...(a.variants?.length ? ["ab"] : [])] as Panel[]).map((p) => (
            <button key={p} type="button" role="tab" aria-selected={panel === p} data-testid={`asg-panel-${p}`}
              className={"btn btn-small" + (panel === p ? " btn-active" : "")} onClick={() => setPanel(p)}>
              {t(`asg.panel.${p}` as MessageKey)}
            </button>
          ))}
        </div>
        <span className="row-actions">
          <button type="button" className="btn btn-small" data-testid="asg-duplicate" onClick={onDuplicate}>{t("auto.duplicate")}</button>
          <button type="button" className="btn btn-small btn-ghost danger-text" data-testid="asg-delete" onClick={onDelete}>{t("asg.delete")}</button>
        </span>
      </div>
      {loose.length > 0 && (
        <div className="alert alert-error" role="alert" data-testid="asg-problems">
          <ul className="alert-details">{loose.map((p, i) => <li key={i}><span className="mono small">{p.path || "/"}</span> {problemText(p, t, label)}</li>)}</ul>
        </div>
      )}
      {panel === "preview" ? (
        <PreviewPanel doc={doc} a={a} onProblems={setPreviewProblems} onShowRule={() => setPanel("rule")} />
      ) : panel === "ab" ? (
        <VariantsReport doc={doc} entity={a.entity} load={(goal) => api.assignmentVariants(doc.name, a.name, goal)} />
      ) : (
        <>
          <div className="auto-row">
            <label className="field">
              <span className="field-label">{t("auto.label")}</span>
              <input value={a.label ?? ""} data-testid="asg-label" onChange={(e) => set({ label: e.target.value })} />
              <FieldProblems msgs={at("/label")} />
            </label>
            <label className="field">
              <span className="field-label">{t("auto.name")}</span>
              <input className="mono" value={a.name} data-testid="asg-name" spellCheck={false} autoCapitalize="off"
                aria-invalid={!NAME_RE.test(a.name) || taken || at("/name").length > 0 || undefined} onChange={(e) => set({ name: e.target.value })} />
              {!NAME_RE.test(a.name) && <span className="field-error">{t("design.nameRule")}</span>}
              {taken && <span className="field-error">{t("asg.nameTaken")}</span>}
              <FieldProblems msgs={at("/name")} testId="asg-problem-name" />
            </label>
          </div>
          <div className="auto-row">
            <label className="field">
              <span className="field-label">{t("auto.entity")}</span>
              <select value={a.entity} data-testid="asg-entity" aria-invalid={at("/entity").length > 0 || undefined}
                onChange={(e) => set({ entity: e.target.value, field: undefined, open: undefined, statistics: undefined, countdown: undefined })}>
                {!entity && <option value={a.entity}>{a.entity || "—"}</option>}
                {doc.entities.map((e) => <option key={e.name} value={e.name}>{e.label || e.name}</option>)}
              </select>
              <FieldProblems msgs={at("/entity")} testId="asg-problem-entity" />
            </label>
            <label className="field">
              <span className="field-label">{t("asg.field")}</span>
              <select value={a.field ?? ""} data-testid="asg-field" onChange={(e) => set({ field: e.target.value || undefined })}>
                <option value="">{t("sys.owner")}</option>
                {userFields(entity).map((f) => <option key={f.name} value={f.name}>{fieldName(t, f)}</option>)}
              </select>
              <FieldProblems msgs={at("/field")} testId="asg-problem-field" />
            </label>
          </div>

          <section className="auto-section" data-testid="asg-candidates">
            <h3 className="panel-title">{t("asg.candidates")}</h3>
            <p className="muted small">{t("asg.candidatesHint")}</p>
            <CandidatesEditor doc={doc} teams={teams} value={a.candidates ?? {}} prefix="/candidates" testId="asg-cand" at={at}
              onChange={(c) => set({ candidates: c })} />
          </section>

          <section className="auto-section" data-testid="asg-strategy">
            <h3 className="panel-title">{t("asg.strategy")}</h3>
            <div className="auto-choices" role="radiogroup" aria-label={t("asg.strategy")}>
              {STRATEGIES.map((s) => (
                <label key={s} className={"auto-choice" + (a.strategy === s ? " active" : "")}>
                  <input type="radio" name={`asg-strategy-${index}`} value={s} checked={a.strategy === s} data-testid={`asg-strategy-${s}`}
                    onChange={() => set({ strategy: s })} />
                  <span>{t(`asg.strategy.${s}` as MessageKey)}</span>
                  <span className="muted small">{t(`asg.strategy.${s}.hint` as MessageKey)}</span>
                </label>
              ))}
            </div>
            <FieldProblems msgs={at("/strategy")} testId="asg-problem-strategy" />
            <div className="auto-row">
              <label className="field auto-narrow">
                <span className="field-label">{t("asg.capacity")}</span>
                <input type="number" min={0} value={a.capacity ?? ""} data-testid="asg-capacity" aria-invalid={at("/capacity").length > 0 || undefined}
                  onChange={(e) => set({ capacity: e.target.value === "" ? undefined : Math.max(0, Math.floor(Number(e.target.value))) })} />
                <span className="muted small">{t("asg.capacityHint")}</span>
                <FieldProblems msgs={at("/capacity")} testId="asg-problem-capacity" />
              </label>
            </div>
            <div className="auto-subsection">
              <span className="field-label">{t("asg.open")}</span>
              <p className="muted small">{t("asg.openHint")}</p>
              <ConditionInput fields={filterableFields(entity?.fields ?? [])} doc={doc} entity={entity?.name} value={a.open ?? ""} testId="asg-open"
                problems={at("/open")} onChange={(o) => set({ open: o || undefined })} />
            </div>
          </section>

          <StatisticsEditor doc={doc} entity={entity} a={a} at={at} onChange={(s) => set({ statistics: s })} />

          {(a.strategy === "score" || a.score) && (
            <section className="auto-section" data-testid="asg-score">
              <h3 className="panel-title">{t("asg.score")}</h3>
              <p className="muted small">{t("asg.scoreHint")}</p>
              <ExpressionEditor mode="formula" value={a.score ?? ""} onChange={(s) => set({ score: s || undefined })} fields={statisticFields(a)}
                system={false} check={false} rows={2} testId="asg-score-expr" placeholder="win_rate * 10 - load" ariaLabel={t("asg.score")} />
              <FieldProblems msgs={at("/score")} testId="asg-problem-score" />
            </section>
          )}

          <HoursEditor a={a} at={at} onChange={(h) => set({ workingHours: h })} />

          <section className="auto-section" data-testid="asg-fallbacks">
            <h3 className="panel-title">{t("asg.fallbacks")}</h3>
            <p className="muted small">{t("asg.fallbacksHint")}</p>
            {(a.fallbacks ?? []).map((f, i) => (
              <div key={i} className="card auto-variant" data-testid={`asg-fallback-${i}`}>
                <div className="auto-action-head">
                  <strong>{t("asg.fallbackN", { n: i + 1 })}</strong>
                  <button type="button" className="btn btn-icon btn-small" aria-label={t("asg.remove")} data-testid={`asg-fallback-remove-${i}`}
                    onClick={() => set({ fallbacks: (a.fallbacks ?? []).filter((_, j) => j !== i) })}><Icon.x /></button>
                </div>
                <CandidatesEditor doc={doc} teams={teams} value={f} prefix={`/fallbacks/${i}`} testId={`asg-fb${i}`} at={at}
                  onChange={(c) => set({ fallbacks: (a.fallbacks ?? []).map((x, j) => (j === i ? c : x)) })} />
              </div>
            ))}
            <button type="button" className="btn btn-small" data-testid="asg-fallback-add" onClick={() => set({ fallbacks: [...(a.fallbacks ?? []), {}] })}>
              <Icon.plus /> {t("asg.fallbackAdd")}
            </button>
          </section>

          <section className="auto-section" data-testid="asg-reassigners">
            <h3 className="panel-title">{t("asg.reassigners")}</h3>
            <p className="muted small">{t("asg.reassignersHint")}</p>
            <RoleChecks roles={roles.map((r) => ({ name: r.name, label: r.label || r.name }))} value={a.reassigners ?? []} testId="asg-reassigner"
              onChange={(v) => set({ reassigners: v })} />
            <FieldProblems msgs={at("/reassigners", true)} />
          </section>

          <PoolEditor doc={doc} teams={teams} a={a} at={at} onChange={(p) => set({ pool: p })} />
          <CountdownEditor entity={entity} a={a} at={at} onChange={(c) => set({ countdown: c })} />
          <VariantsEditor a={a} at={at} onChange={(v) => set({ variants: v })} />
        </>
      )}
    </div>
  );
}

function RoleChecks({ roles, value, onChange, testId }: { roles: { name: string; label: string }[]; value: string[]; onChange: (v: string[]) => void; testId: string }) {
  const { t } = useI18n();
  if (roles.length === 0) return <p className="muted small">{t("asg.noRoles")}</p>;
  return (
    <div className="asg-checks">
      {roles.map((r) => (
        <label key={r.name} className="check">
          <input type="checkbox" checked={value.includes(r.name)} data-testid={`${testId}-${r.name}`}
            onChange={(e) => onChange(e.target.checked ? [...value, r.name] : value.filter((x) => x !== r.name))} />
          <span>{r.label}</span>
        </label>
      ))}
    </div>
  );
}

// CandidatesEditor: roles of the app, teams (from Admin › Teams), users picked by name, and a condition over the user.
function CandidatesEditor({ doc, teams, value, onChange, prefix, testId, at }: {
  doc: DDoc; teams: Team[] | null; value: Candidates; onChange: (c: Candidates) => void; prefix: string; testId: string; at: ProblemsAt;
}) {
  const { t } = useI18n();
  const set = (p: Partial<Candidates>) => onChange({ ...value, ...p });
  const users = value.users ?? [];
  const userFieldsList = useMemo(() => userConditionFields(t), [t]);
  return (
    <div className="asg-candidates" data-testid={testId}>
      <div className="field">
        <span className="field-label">{t("asg.roles")}</span>
        <RoleChecks roles={(doc.roles ?? []).map((r) => ({ name: r.name, label: r.label || r.name }))} value={value.roles ?? []}
          testId={`${testId}-role`} onChange={(v) => set({ roles: v })} />
        <FieldProblems msgs={at(prefix + "/roles", true)} testId={`${testId}-problem-roles`} />
      </div>
      <div className="field">
        <span className="field-label">{t("asg.teams")}</span>
        {teams ? (
          <RoleChecks roles={[...teams.map((x) => ({ name: x.name, label: x.name })), ...(value.teams ?? []).filter((n) => !teams.some((x) => x.name === n)).map((n) => ({ name: n, label: n }))]}
            value={value.teams ?? []} testId={`${testId}-team`} onChange={(v) => set({ teams: v })} />
        ) : (
          <input value={(value.teams ?? []).join(", ")} data-testid={`${testId}-teams`} placeholder={t("asg.teamsPlaceholder")}
            onChange={(e) => set({ teams: e.target.value.split(",").map((s) => s.trim()).filter(Boolean) })} />
        )}
        <FieldProblems msgs={at(prefix + "/teams", true)} />
      </div>
      <div className="field">
        <span className="field-label">{t("asg.users")}</span>
        <ul className="asg-users">
          {users.map((u, i) => (
            <li key={u + i} data-testid={`${testId}-user-${i}`}>
              <UserPicker value={u} testId={`${testId}-user-pick-${i}`}
                onChange={(id) => set({ users: id ? users.map((x, j) => (j === i ? id : x)) : users.filter((_, j) => j !== i) })} />
            </li>
          ))}
          <li><UserPicker value="" testId={`${testId}-user-add`} onChange={(id) => id && !users.includes(id) && set({ users: [...users, id] })} /></li>
        </ul>
        <FieldProblems msgs={at(prefix + "/users", true)} />
      </div>
      <div className="field">
        <span className="field-label">{t("asg.condition")}</span>
        <p className="muted small">{t("asg.conditionHint")}</p>
        <ConditionInput fields={userFieldsList} doc={doc} value={value.condition ?? ""} testId={`${testId}-condition`}
          problems={at(prefix + "/condition")} onChange={(c) => set({ condition: c || undefined })} />
      </div>
    </div>
  );
}

function StatisticsEditor({ doc, entity, a, at, onChange }: {
  doc: DDoc; entity: DEntity | undefined; a: Assignment; at: ProblemsAt; onChange: (s: Statistic[] | undefined) => void;
}) {
  const { t } = useI18n();
  const stats = a.statistics ?? [];
  const [kind, setKind] = useState<StatKind>("winRate");
  const setAt = (i: number, s: Statistic) => onChange(stats.map((x, j) => (j === i ? s : x)));
  return (
    <section className="auto-section" data-testid="asg-statistics">
      <h3 className="panel-title">{t("asg.statistics")}</h3>
      <p className="muted small">{t("asg.statisticsHint")}</p>
      {stats.map((s, i) => (
        <StatisticRow key={i} doc={doc} entity={entity} s={s} i={i} at={at} onChange={(x) => setAt(i, x)}
          onRemove={() => onChange(stats.filter((_, j) => j !== i))} />
      ))}
      <div className="auto-add-action">
        <select value={kind} aria-label={t("asg.statKind")} data-testid="asg-stat-kind" onChange={(e) => setKind(e.target.value as StatKind)}>
          {STAT_KINDS.map((k) => <option key={k} value={k}>{t(`asg.stat.${k}` as MessageKey)}</option>)}
        </select>
        <button type="button" className="btn btn-small" data-testid="asg-stat-add" onClick={() => onChange([...stats, newStatistic(kind, stats.map((x) => x.name))])}>
          <Icon.plus /> {t("asg.statAdd")}
        </button>
      </div>
    </section>
  );
}

function FieldSelect({ fields, value, onChange, testId, empty, problems }: {
  fields: Field[]; value: string | undefined; onChange: (v: string | undefined) => void; testId: string; empty?: string; problems?: string[];
}) {
  const { t } = useI18n();
  return (
    <>
      <select value={value ?? ""} data-testid={testId} aria-invalid={(problems?.length ?? 0) > 0 || undefined} onChange={(e) => onChange(e.target.value || undefined)}>
        <option value="">{empty ?? ""}</option>
        {value && !fields.some((f) => f.name === value) && <option value={value}>{value}</option>}
        {fields.map((f) => <option key={f.name} value={f.name}>{fieldName(t, f)}</option>)}
      </select>
      <FieldProblems msgs={problems ?? []} testId={testId + "-problem"} />
    </>
  );
}

function StatisticRow({ doc, entity, s, i, at, onChange, onRemove }: {
  doc: DDoc; entity: DEntity | undefined; s: Statistic; i: number; at: ProblemsAt; onChange: (s: Statistic) => void; onRemove: () => void;
}) {
  const { t } = useI18n();
  const p = `/statistics/${i}`;
  const fields = ruleFields(entity);
  const outcome = doc.entities.find((e) => e.name === (s.entity || entity?.name));
  const outcomeFields = ruleFields(outcome);
  const dates = ruleFields(entity).filter((f) => f.type === "datetime" || f.type === "date");
  const num = (v: string) => (v === "" ? undefined : Number(v));
  return (
    <div className={"card auto-action" + (at(p, true).length ? " has-error" : "")} data-testid={`asg-stat-${i}`}>
      <div className="auto-action-head">
        <strong>{t(`asg.stat.${s.kind}` as MessageKey)}</strong>
        <span className="muted small">{t(`asg.stat.${s.kind}.hint` as MessageKey)}</span>
        <button type="button" className="btn btn-icon btn-small" aria-label={t("asg.remove")} data-testid={`asg-stat-remove-${i}`} onClick={onRemove}><Icon.x /></button>
      </div>
      <FieldProblems msgs={at(p)} />
      <div className="auto-row">
        <label className="field">
          <span className="field-label">{t("asg.statName")}</span>
          <input className="mono" value={s.name} data-testid={`asg-stat-name-${i}`} aria-invalid={at(p + "/name").length > 0 || undefined}
            onChange={(e) => onChange({ ...s, name: e.target.value })} />
          <FieldProblems msgs={at(p + "/name")} testId={`asg-problem-stat-name-${i}`} />
        </label>
        <label className="field">
          <span className="field-label">{t("asg.statKind")}</span>
          <select value={s.kind} data-testid={`asg-stat-kind-${i}`} onChange={(e) => onChange(setStatKind(s, e.target.value as StatKind))}>
            {STAT_KINDS.map((k) => <option key={k} value={k}>{t(`asg.stat.${k}` as MessageKey)}</option>)}
          </select>
          <FieldProblems msgs={at(p + "/kind")} />
        </label>
        <label className="field auto-narrow">
          <span className="field-label">{t("asg.statDefault")}</span>
          <input type="number" value={s.default ?? ""} data-testid={`asg-stat-default-${i}`} onChange={(e) => onChange({ ...s, default: num(e.target.value) })} />
        </label>
      </div>
      {s.kind === "winRate" && (
        <>
          <div className="auto-row">
            <label className="field">
              <span className="field-label">{t("asg.statEntity")}</span>
              <select value={s.entity ?? ""} data-testid={`asg-stat-entity-${i}`} onChange={(e) => onChange({ ...s, entity: e.target.value || undefined, won: undefined, closed: undefined, byField: undefined })}>
                <option value="">{entity?.label || entity?.name || ""}</option>
                {doc.entities.filter((e) => e.name !== entity?.name).map((e) => <option key={e.name} value={e.name}>{e.label || e.name}</option>)}
              </select>
              <FieldProblems msgs={at(p + "/entity")} />
            </label>
            <label className="field">
              <span className="field-label">{t("asg.statBy")}</span>
              <FieldSelect fields={fields} value={s.by} testId={`asg-stat-by-${i}`} empty={t("asg.statByNone")} problems={at(p + "/by")} onChange={(v) => onChange({ ...s, by: v })} />
            </label>
            {s.entity && s.entity !== entity?.name && (
              <label className="field">
                <span className="field-label">{t("asg.statByField")}</span>
                <FieldSelect fields={outcomeFields} value={s.byField} testId={`asg-stat-byfield-${i}`} problems={at(p + "/byField")} onChange={(v) => onChange({ ...s, byField: v })} />
              </label>
            )}
            <label className="field auto-narrow">
              <span className="field-label">{t("asg.statDays")}</span>
              <input type="number" min={1} value={s.days ?? ""} data-testid={`asg-stat-days-${i}`} onChange={(e) => onChange({ ...s, days: num(e.target.value) })} />
              <FieldProblems msgs={at(p + "/days")} />
            </label>
          </div>
          <div className="auto-subsection">
            <span className="field-label">{t("asg.statWon")}</span>
            <ConditionInput fields={filterableFields(outcome?.fields ?? [])} doc={doc} entity={outcome?.name} value={s.won ?? ""} testId={`asg-stat-won-${i}`}
              problems={at(p + "/won")} onChange={(v) => onChange({ ...s, won: v || undefined })} />
          </div>
          <div className="auto-subsection">
            <span className="field-label">{t("asg.statClosed")}</span>
            <ConditionInput fields={filterableFields(outcome?.fields ?? [])} doc={doc} entity={outcome?.name} value={s.closed ?? ""} testId={`asg-stat-closed-${i}`}
              problems={at(p + "/closed")} onChange={(v) => onChange({ ...s, closed: v || undefined })} />
          </div>
        </>
      )}
      {s.kind === "medianResponse" && (
        <div className="auto-row">
          <label className="field">
            <span className="field-label">{t("asg.statFrom")}</span>
            <FieldSelect fields={dates} value={s.from} testId={`asg-stat-from-${i}`} empty={t("sys.created_at")} problems={at(p + "/from")} onChange={(v) => onChange({ ...s, from: v })} />
          </label>
          <label className="field">
            <span className="field-label">{t("asg.statTo")}</span>
            <FieldSelect fields={dates} value={s.to} testId={`asg-stat-to-${i}`} problems={at(p + "/to")} onChange={(v) => onChange({ ...s, to: v })} />
          </label>
          <label className="field auto-narrow">
            <span className="field-label">{t("asg.statDays")}</span>
            <input type="number" min={1} value={s.days ?? ""} data-testid={`asg-stat-days-${i}`} onChange={(e) => onChange({ ...s, days: num(e.target.value) })} />
          </label>
        </div>
      )}
      {(s.kind === "fieldMatch" || s.kind === "skillsMatch") && (
        <div className="auto-row">
          <label className="field">
            <span className="field-label">{t("asg.statField")}</span>
            <FieldSelect fields={fields.filter((f) => ["text", "select", "multiselect"].includes(f.type))} value={s.field} testId={`asg-stat-field-${i}`}
              problems={at(p + "/field")} onChange={(v) => onChange({ ...s, field: v })} />
          </label>
          {s.kind === "fieldMatch" && (
            <label className="field">
              <span className="field-label">{t("asg.statAttribute")}</span>
              <select value={s.attribute ?? "region"} data-testid={`asg-stat-attribute-${i}`} onChange={(e) => onChange({ ...s, attribute: e.target.value })}>
                <option value="region">{t("asg.user.region")}</option>
              </select>
              <FieldProblems msgs={at(p + "/attribute")} />
            </label>
          )}
        </div>
      )}
    </div>
  );
}

const DAYS = [1, 2, 3, 4, 5, 6, 7];

function HoursEditor({ a, at, onChange }: { a: Assignment; at: ProblemsAt; onChange: (h: Assignment["workingHours"]) => void }) {
  const { t } = useI18n();
  const h = a.workingHours;
  const zones = useMemo(() => timeZones(h?.timeZone), [h?.timeZone]);
  const days = h?.days?.length ? h.days : [1, 2, 3, 4, 5];
  return (
    <OptionalSection testId="asg-hours" title={t("asg.hours")} hint={t("asg.hoursHint")} on={!!h}
      onToggle={(on) => onChange(on ? { days: [1, 2, 3, 4, 5], from: "09:00", to: "18:00", timeZone: browserTimeZone() } : undefined)}>
      {h && (
        <>
          <div className="asg-checks" role="group" aria-label={t("asg.hoursDays")}>
            {DAYS.map((d) => (
              <label key={d} className="check">
                <input type="checkbox" checked={days.includes(d)} data-testid={`asg-hours-day-${d}`}
                  onChange={(e) => onChange({ ...h, days: e.target.checked ? [...days, d].sort() : days.filter((x) => x !== d) })} />
                <span>{t(`auto.day.${d % 7}` as MessageKey)}</span>
              </label>
            ))}
          </div>
          <FieldProblems msgs={at("/workingHours/days", true)} />
          <div className="auto-row">
            <label className="field auto-narrow">
              <span className="field-label">{t("auto.from")}</span>
              <input type="time" value={h.from} data-testid="asg-hours-from" onChange={(e) => onChange({ ...h, from: e.target.value })} />
              <FieldProblems msgs={at("/workingHours/from")} testId="asg-problem-hours-from" />
            </label>
            <label className="field auto-narrow">
              <span className="field-label">{t("auto.to")}</span>
              <input type="time" value={h.to} data-testid="asg-hours-to" onChange={(e) => onChange({ ...h, to: e.target.value })} />
              <FieldProblems msgs={at("/workingHours/to")} />
            </label>
            <label className="field">
              <span className="field-label">{t("auto.timeZone")}</span>
              <select value={h.timeZone ?? "UTC"} data-testid="asg-hours-tz" onChange={(e) => onChange({ ...h, timeZone: e.target.value })}>
                {zones.map((z) => <option key={z} value={z}>{z}</option>)}
              </select>
              <FieldProblems msgs={at("/workingHours/timeZone")} />
            </label>
          </div>
        </>
      )}
    </OptionalSection>
  );
}

function PoolEditor({ doc, teams, a, at, onChange }: {
  doc: DDoc; teams: Team[] | null; a: Assignment; at: ProblemsAt; onChange: (p: Assignment["pool"]) => void;
}) {
  const { t } = useI18n();
  const p = a.pool;
  return (
    <OptionalSection testId="asg-pool" title={t("asg.pool")} hint={t("asg.poolHint")} on={!!p}
      onToggle={(on) => onChange(on ? { name: a.name + "_pool", deadline: "2h" } : undefined)}>
      {p && (
        <>
          <div className="auto-row">
            <label className="field">
              <span className="field-label">{t("asg.poolName")}</span>
              <input className="mono" value={p.name} data-testid="asg-pool-name" aria-invalid={at("/pool/name").length > 0 || undefined} onChange={(e) => onChange({ ...p, name: e.target.value })} />
              <FieldProblems msgs={at("/pool/name")} testId="asg-problem-pool-name" />
            </label>
            <label className="field auto-narrow">
              <span className="field-label">{t("asg.poolLimit")}</span>
              <input type="number" min={0} value={p.dailyLimit ?? ""} data-testid="asg-pool-limit"
                onChange={(e) => onChange({ ...p, dailyLimit: e.target.value === "" ? undefined : Math.max(0, Math.floor(Number(e.target.value))) })} />
              <FieldProblems msgs={at("/pool/dailyLimit")} />
            </label>
            <label className="field auto-narrow">
              <span className="field-label">{t("asg.poolDeadline")}</span>
              <input className="mono" value={p.deadline ?? ""} placeholder="2h" data-testid="asg-pool-deadline" aria-invalid={at("/pool/deadline").length > 0 || undefined}
                onChange={(e) => onChange({ ...p, deadline: e.target.value || undefined })} />
              <span className="muted small">{t("asg.poolDeadlineHint")}</span>
              <FieldProblems msgs={at("/pool/deadline")} testId="asg-problem-pool-deadline" />
            </label>
          </div>
          <label className="check">
            <input type="checkbox" checked={!p.eligible} data-testid="asg-pool-same" onChange={(e) => onChange({ ...p, eligible: e.target.checked ? undefined : { ...(a.candidates ?? {}) } })} />
            <span>{t("asg.poolSame")}</span>
          </label>
          {p.eligible && (
            <CandidatesEditor doc={doc} teams={teams} value={p.eligible} prefix="/pool/eligible" testId="asg-pool-el" at={at}
              onChange={(c) => onChange({ ...p, eligible: c })} />
          )}
        </>
      )}
    </OptionalSection>
  );
}

type StepDrag = { index: number };

function CountdownEditor({ entity, a, at, onChange }: { entity: DEntity | undefined; a: Assignment; at: ProblemsAt; onChange: (c: Assignment["countdown"]) => void }) {
  const { t } = useI18n();
  const c = a.countdown;
  const dates = datetimeFields(entity);
  const [dropAt, setDropAt] = useState<number | null>(null);
  const steps = c?.steps ?? [];
  const setSteps = (s: CountdownStep[]) => c && onChange({ ...c, steps: s });
  const drop = (d: StepDrag, target: DropAt) => {
    const to = target.at ?? steps.length;
    if (to !== d.index && to !== d.index + 1) setSteps(moveIn(steps, d.index, to));
  };
  return (
    <OptionalSection testId="asg-countdown" title={t("asg.countdown")} hint={t("asg.countdownHint")} on={!!c}
      onToggle={(on) => onChange(on ? {
        until: dates[0]?.name ?? "", within: "4h",
        steps: [{ after: "4h", do: "remind" }, { after: "5h", do: "notifyManager" }, { after: "6h", do: "reassign" }],
      } : undefined)}>
      {c && (
        <>
          <div className="auto-row">
            <label className="field">
              <span className="field-label">{t("asg.cdStart")}</span>
              <FieldSelect fields={dates} value={c.start} testId="asg-cd-start" empty={t("sys.created_at")} problems={at("/countdown/start")} onChange={(v) => onChange({ ...c, start: v })} />
            </label>
            <label className="field">
              <span className="field-label">{t("asg.cdUntil")}</span>
              <FieldSelect fields={dates} value={c.until} testId="asg-cd-until" problems={at("/countdown/until")} onChange={(v) => onChange({ ...c, until: v ?? "" })} />
            </label>
            <label className="field auto-narrow">
              <span className="field-label">{t("asg.cdWithin")}</span>
              <input className="mono" value={c.within} placeholder="4h" data-testid="asg-cd-within" aria-invalid={at("/countdown/within").length > 0 || undefined}
                onChange={(e) => onChange({ ...c, within: e.target.value })} />
              <FieldProblems msgs={at("/countdown/within")} testId="asg-problem-cd-within" />
            </label>
          </div>
          <span className="field-label">{t("asg.cdSteps")}</span>
          <DndArea<StepDrag> onDrop={drop} onOver={(x) => setDropAt(x ? x.at ?? steps.length : null)}
            overlay={(d) => <span className="palette-item">{t(`asg.do.${steps[d.index]?.do ?? "remind"}` as MessageKey)}</span>}>
            <DropList zone="steps" className="auto-actions" testId="asg-steps" label={t("asg.cdSteps")}>
              {steps.length === 0 && <li className="muted small">{t("asg.cdNoSteps")}</li>}
              {steps.map((s, i) => {
                const p = `/countdown/steps/${i}`;
                const set = (x: Partial<CountdownStep>) => setSteps(steps.map((y, j) => (j === i ? { ...y, ...x } : y)));
                return (
                  <DragRow<StepDrag> key={i} id={`step:${i}`} data={{ index: i }} zone="steps" index={i} testId={`asg-step-${i}`}
                    className={"card auto-action" + (at(p, true).length ? " has-error" : "") + (dropAt === i ? " drop-before" : "") + (dropAt === i + 1 && i === steps.length - 1 ? " drop-after" : "")}
                    handleLabel={t("asg.dragStep", { n: i + 1 })}>
                    <div className="auto-action-body">
                      <div className="auto-row">
                        <label className="field auto-narrow">
                          <span className="field-label">{t("asg.stepAfter")}</span>
                          <input className="mono" value={s.after} data-testid={`asg-step-after-${i}`} aria-invalid={at(p + "/after").length > 0 || undefined}
                            onChange={(e) => set({ after: e.target.value })} />
                          <FieldProblems msgs={at(p + "/after")} testId={`asg-problem-step-after-${i}`} />
                        </label>
                        <label className="field">
                          <span className="field-label">{t("asg.stepDo")}</span>
                          <select value={s.do} data-testid={`asg-step-do-${i}`} onChange={(e) => set({ do: e.target.value as StepDo })}>
                            {STEP_DOS.map((d) => <option key={d} value={d}>{t(`asg.do.${d}` as MessageKey)}</option>)}
                          </select>
                          <FieldProblems msgs={at(p + "/do")} />
                        </label>
                        <span className="row-actions">
                          <button type="button" className="btn btn-icon btn-small" disabled={i === 0} aria-label={t("auto.moveUp")}
                            data-testid={`asg-step-up-${i}`} onClick={() => setSteps(moveIn(steps, i, i - 1))}><Icon.up /></button>
                          <button type="button" className="btn btn-icon btn-small" disabled={i === steps.length - 1} aria-label={t("auto.moveDown")}
                            onClick={() => setSteps(moveIn(steps, i, i + 2))}><Icon.down /></button>
                          <button type="button" className="btn btn-icon btn-small" aria-label={t("asg.remove")} data-testid={`asg-step-remove-${i}`}
                            onClick={() => setSteps(steps.filter((_, j) => j !== i))}><Icon.x /></button>
                        </span>
                      </div>
                      {s.do !== "reassign" && (
                        <label className="field">
                          <span className="field-label">{t("asg.stepMessage")}</span>
                          <input value={s.message ?? ""} data-testid={`asg-step-message-${i}`} placeholder={t("asg.stepMessageHint")}
                            onChange={(e) => set({ message: e.target.value || undefined })} />
                          <FieldProblems msgs={at(p + "/message")} />
                        </label>
                      )}
                      {s.do !== "reassign" && (
                        <>
                          <LabelsInputs labels={s.messages} prefix={`asg-step-message-${i}`} caption="labels.messageIn"
                            onChange={(l) => set({ messages: orNone(l) })} />
                          <FieldProblems msgs={at(p + "/messages", true)} />
                        </>
                      )}
                    </div>
                  </DragRow>
                );
              })}
            </DropList>
          </DndArea>
          <button type="button" className="btn btn-small" data-testid="asg-step-add"
            onClick={() => setSteps([...steps, { after: c.within || "4h", do: "remind" }])}>
            <Icon.plus /> {t("asg.stepAdd")}
          </button>
        </>
      )}
    </OptionalSection>
  );
}

function VariantsEditor({ a, at, onChange }: { a: Assignment; at: ProblemsAt; onChange: (v: AssignmentVariant[] | undefined) => void }) {
  const { t } = useI18n();
  const vs = a.variants ?? [];
  const pct = percentages(vs);
  const setAt = (i: number, v: AssignmentVariant) => onChange(vs.map((x, j) => (j === i ? v : x)));
  return (
    <section className="auto-section" data-testid="asg-variants">
      <h3 className="panel-title">
        <label className="check">
          <input type="checkbox" checked={vs.length > 0} data-testid="asg-ab"
            onChange={(e) => onChange(e.target.checked ? [
              { name: "A", weight: 50, strategy: a.strategy, ...(a.score ? { score: a.score } : {}) },
              { name: "B", weight: 50, strategy: a.strategy === "score" ? "roundRobin" : "score" },
            ] : undefined)} />
          <span>{t("auto.ab")}</span>
        </label>
      </h3>
      <p className="muted small">{t("asg.abHint")}</p>
      {vs.map((v, i) => (
        <div key={i} className="card auto-variant" data-testid={`asg-variant-${i}`}>
          <div className="auto-row">
            <label className="field auto-narrow">
              <span className="field-label">{t("auto.variantName")}</span>
              <input value={v.name} data-testid={`asg-variant-name-${i}`} onChange={(e) => setAt(i, { ...v, name: e.target.value })} />
              <FieldProblems msgs={at(`/variants/${i}/name`)} />
            </label>
            <label className="field auto-narrow">
              <span className="field-label">{t("auto.weight")}</span>
              <input type="number" min={0} value={v.weight} data-testid={`asg-variant-weight-${i}`} aria-invalid={at(`/variants/${i}/weight`).length > 0 || undefined}
                onChange={(e) => setAt(i, { ...v, weight: Number(e.target.value) })} />
              <span className="muted small" data-testid={`asg-variant-pct-${i}`}>{pct[i]}%</span>
              <FieldProblems msgs={at(`/variants/${i}/weight`)} />
            </label>
            <label className="field">
              <span className="field-label">{t("asg.strategy")}</span>
              <select value={v.strategy} data-testid={`asg-variant-strategy-${i}`} onChange={(e) => setAt(i, { ...v, strategy: e.target.value as Strategy })}>
                {STRATEGIES.map((s) => <option key={s} value={s}>{t(`asg.strategy.${s}` as MessageKey)}</option>)}
              </select>
              <FieldProblems msgs={at(`/variants/${i}/strategy`)} />
            </label>
            {vs.length > 2 && (
              <button type="button" className="btn btn-small btn-ghost" data-testid={`asg-variant-remove-${i}`}
                onClick={() => onChange(vs.filter((_, j) => j !== i))}>{t("auto.removeVariant")}</button>
            )}
          </div>
          {v.strategy === "score" && (
            <div className="field">
              <ExpressionEditor mode="formula" compact rows={1} value={v.score ?? ""} onChange={(s) => setAt(i, { ...v, score: s || undefined })}
                fields={statisticFields(a)} system={false} check={false} label={t("asg.variantScore")} testId={`asg-variant-score-${i}`} />
              <FieldProblems msgs={at(`/variants/${i}/score`)} testId={`asg-problem-variant-score-${i}`} />
            </div>
          )}
        </div>
      ))}
      {vs.length > 0 && (
        <button type="button" className="btn btn-small" data-testid="asg-variant-add"
          onClick={() => onChange([...vs, { name: nextVariantName(vs), weight: 50, strategy: "roundRobin" }])}>
          <Icon.plus /> {t("auto.addVariant")}
        </button>
      )}
    </section>
  );
}

function PreviewPanel({ doc, a, onProblems, onShowRule }: { doc: DDoc; a: Assignment; onProblems: (p: ErrorDetail[]) => void; onShowRule: () => void }) {
  const { t } = useI18n();
  const [id, setId] = useState("");
  const [d, setD] = useState<Decision | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const entity = doc.entities.find((e) => e.name === a.entity);
  async function run() {
    setBusy(true);
    setError(null);
    setD(null);
    onProblems([]);
    try {
      setD(await api.previewAssignment(doc.name, a.name, { id, rule: a }));
    } catch (e) {
      const placed = e instanceof ApiError && e.status === 422 ? e.details.filter((x) => x.path?.startsWith("/rule")) : [];
      if (placed.length) {
        onProblems(placed.map((x) => ({ ...x, path: x.path.slice("/rule".length) })));
        onShowRule();
      } else setError(e);
    } finally {
      setBusy(false);
    }
  }
  return (
    <div className="auto-test" data-testid="asg-preview">
      <p className="muted small">{t("asg.previewHint")}</p>
      <RecordRun doc={doc} entity={entity as Entity | undefined} label={t("asg.previewRecord", { entity: entity?.label || a.entity })} id={id} onId={setId}
        busy={busy} onRun={() => void run()} text={busy ? t("asg.previewing") : t("asg.previewRun")} testId="asg-preview" />
      {error ? <ErrorBox error={error} testId="asg-preview-error" /> : null}
      {d && (
        <div data-testid="asg-preview-result">
          <p className="auto-sentence" data-testid="asg-preview-reason">
            {d.winner ? t("asg.goesTo", { name: d.winnerName || d.winner }) : d.pool ? t("asg.toPool", { pool: d.pool }) : t("asg.nobody")}
            {" "}<span className="muted">{d.reason}</span>
          </p>
          <p className="muted small">{t(`asg.strategy.${d.strategy}` as MessageKey)}{d.variant ? " · " + t("asg.variantOf", { name: d.variant }) : ""}</p>
          <DecisionTable d={d} />
        </div>
      )}
    </div>
  );
}
