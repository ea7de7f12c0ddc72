// The designer's Automations tab: the draft document's rules on the left
// (enabled toggles, add blank or from an example, duplicate, delete), the
// selected rule on the right — label and name, entity, the trigger as clear
// choices with a sentence that reads it back, the condition in the visual
// filter builder, and the actions (AutomationsActions.tsx) — with its run
// log, dry run and A/B results (AutomationsRuns.tsx). Problems the server
// finds on apply/publish show at the input their JSON pointer names.
import { useEffect, useMemo, useState } from "react";
import { api, type ErrorDetail, type Field } from "../api";
import {
  automationsOf, automationsWithProblems, blankAutomation, browserTimeZone, clean, cronOf, dateFields, EXAMPLES, example, flowsOf,
  isEnabled, isPlaced, parseFilterText, parseOffset, presetOf, problemsOf, ruleFields, setTriggerType, timeZones, TRIGGER_TYPES,
  typedValue, uniqueAutomationName, valueText, withAutomations, type Automation, type CronPreset, type ExampleKey, type Trigger,
  type TriggerType, type Unit,
} from "../designer/automations";
import { NAME_RE, type DDoc, type DEntity } from "../designer/model";
import { nameFromLabel, uniqueName, usePinyin } from "../designer/naming";
import { filterableFields, type FilterModel } from "../filter";
import { useI18n, type MessageKey } from "../i18n";
import { problemText } from "../problems";
import { ActionsEditor } from "./AutomationsActions";
import { AutomationPanels } from "./AutomationsRuns";
import { Icon } from "./common";
import { DeleteDialog, Dialog } from "./Dialog";
import { ExpressionEditor } from "./ExpressionEditor";
import { FilterBuilder } from "./FilterBuilder";

// Problems: messages for an exact pointer inside the automation.
export type ProblemsAt = (path: string, deep?: boolean) => string[];

export function FieldProblems({ msgs, testId }: { msgs: string[]; testId?: string }) {
  if (!msgs.length) return null;
  return <span className="field-error" role="alert" data-testid={testId}>{msgs.join(" ")}</span>;
}

// shownLabel: the label in the user's language (the document's labels map), the label, the name.
const shownLabel = (a: Automation, lang: string) => a.labels?.[lang] || a.label || a.name;

export function AutomationsEditor({ doc, onChange, stored, problems }: {
  doc: DDoc; onChange: (d: DDoc) => void; stored: boolean; problems?: ErrorDetail[];
}) {
  const { t, lang } = useI18n();
  const list = automationsOf(doc);
  const [sel, setSel] = useState(0);
  const [adding, setAdding] = useState(false);
  const [deleting, setDeleting] = useState<number | null>(null);
  const [published, setPublished] = useState<Set<string>>(() => new Set());
  const bad = useMemo(() => automationsWithProblems(problems ?? []), [problems]);
  const ai = Math.min(sel, list.length - 1);
  const a = ai >= 0 ? list[ai] : undefined;

  // The published rules keep their names (runs and A/B results are kept by name).
  useEffect(() => {
    if (!stored) return;
    let live = true;
    api.app(doc.name).then((d) => {
      if (live) setPublished(new Set(((d as unknown as DDoc).automations as Automation[] | undefined ?? []).map((x) => x.name)));
    }, () => undefined);
    return () => {
      live = false;
    };
  }, [stored, doc.name, doc.version]);

  // Open the first rule in trouble when problems arrive.
  useEffect(() => {
    const first = [...bad][0];
    if (first !== undefined) setSel(first);
  }, [bad]);

  const setList = (l: Automation[]) => onChange(withAutomations(doc, l));
  const setAt = (i: number, x: Automation) => setList(list.map((y, j) => (j === i ? clean(x) : y)));
  const add = (x: Automation) => {
    setList([...list, x]);
    setSel(list.length);
    setAdding(false);
  };

  return (
    <div className="auto-editor" data-testid="auto-editor">
      <aside className="designer-col auto-list" aria-label={t("auto.title")}>
        <h2 className="panel-title">{t("auto.title")}</h2>
        {list.length === 0 && <p className="muted small" data-testid="auto-none">{t("auto.none")}</p>}
        <ul className="designer-list">
          {list.map((x, i) => (
            <li key={i} className="auto-list-row">
              <label className="check auto-toggle" title={t("auto.enabled")}>
                <input type="checkbox" checked={isEnabled(x)} data-testid={`auto-enabled-${x.name}`} aria-label={t("auto.enabledOf", { name: shownLabel(x, lang) })}
                  onChange={(e) => setAt(i, { ...x, enabled: e.target.checked })} />
              </label>
              <button type="button" className={"designer-item" + (i === ai ? " active" : "") + (bad.has(i) ? " has-error" : "")}
                aria-current={i === ai || undefined} data-testid={`auto-item-${x.name}`} onClick={() => setSel(i)}>
                <span>{shownLabel(x, lang)}</span>
                <span className="muted small">{t(`auto.trigger.${x.trigger?.type ?? "created"}` as MessageKey)}{isEnabled(x) ? "" : " · " + t("auto.off")}</span>
              </button>
            </li>
          ))}
        </ul>
        <button type="button" className="btn btn-block" data-testid="auto-add" onClick={() => setAdding(true)}>
          <Icon.plus /> {t("auto.add")}
        </button>
      </aside>
      <div className="designer-col auto-main">
        {a ? (
          <RuleEditor key={ai} doc={doc} a={a} index={ai} stored={stored} published={published.has(a.name)}
            problems={problemsOf(problems ?? [], ai)} onChange={(x) => setAt(ai, x)}
            onDuplicate={() => add({ ...structuredClone(a), name: uniqueAutomationName(a.name + "_copy", list.map((y) => y.name)), label: a.label ? t("auto.copyOf", { label: a.label }) : undefined })}
            onDelete={() => setDeleting(ai)} />
        ) : (
          <p className="muted">{t("auto.pickOrAdd")}</p>
        )}
      </div>
      {adding && <AddDialog doc={doc} onAdd={add} onCancel={() => setAdding(false)} />}
      {deleting !== null && list[deleting] && (
        <DeleteDialog title={t("auto.deleteTitle")} testId="auto-delete-dialog" confirmTestId="auto-delete-confirm" confirm={t("auto.delete")}
          cancel={t("common.cancel")} text={t("auto.deleteConfirm", { name: list[deleting].label || list[deleting].name })} onClose={() => setDeleting(null)}
          onConfirm={() => { setList(list.filter((_, j) => j !== deleting)); setSel(Math.max(0, deleting - 1)); setDeleting(null); }} />
      )}
    </div>
  );
}

function AddDialog({ doc, onAdd, onCancel }: { doc: DDoc; onAdd: (a: Automation) => void; onCancel: () => void }) {
  const { t } = useI18n();
  return (
    <Dialog title={t("auto.add")} testId="auto-add-dialog" onClose={onCancel}
      footer={<button type="button" className="btn" onClick={onCancel}>{t("common.cancel")}</button>}>
      <div className="auto-examples">
        <button type="button" className="btn auto-example" data-testid="auto-add-blank" onClick={() => onAdd(blankAutomation(doc))}>
          <strong>{t("auto.blank")}</strong>
          <span className="muted small">{t("auto.blankHint")}</span>
        </button>
        {EXAMPLES.map((k: ExampleKey) => (
          <button key={k} type="button" className="btn auto-example" data-testid={`auto-add-${k}`} disabled={doc.entities.length === 0}
            onClick={() => onAdd(example(doc, k, t(`auto.ex.${k}` as MessageKey), browserTimeZone()))}>
            <strong>{t(`auto.ex.${k}` as MessageKey)}</strong>
            <span className="muted small">{t(`auto.ex.${k}.hint` as MessageKey)}</span>
          </button>
        ))}
      </div>
    </Dialog>
  );
}

type Panel = "rule" | "runs" | "test" | "ab";

function RuleEditor({ doc, a, index, stored, published, problems, onChange, onDuplicate, onDelete }: {
  doc: DDoc; a: Automation; index: number; stored: boolean; published: boolean; problems: ErrorDetail[];
  onChange: (a: Automation) => void; onDuplicate: () => void; onDelete: () => void;
}) {
  const { t, lang } = useI18n();
  const pinyinReady = usePinyin();
  const [panel, setPanel] = useState<Panel>("rule");
  // Problems the dry run found in the rule as edited (/automation/… → /…), shown at the inputs as the server's are.
  const [testProblems, setTestProblems] = useState<ErrorDetail[]>([]);
  problems = [...problems, ...testProblems];
  const entity = doc.entities.find((e) => e.name === a.entity);
  const fields = ruleFields(entity);
  const label = (name: string) => {
    const f = fields.find((x) => x.name === name);
    return f ? f.label || f.name : name;
  };
  const at: ProblemsAt = (path, deep = false) => problems
    .filter((p) => p.path === path || (deep && p.path.startsWith(path + "/")))
    .map((p) => problemText(p, t, label));
  const loose = problems.filter((p) => !isPlaced(p.path));
  const taken = (n: string) => automationsOf(doc).some((x, i) => i !== index && x.name === n);
  const derived = (l: string) => {
    const n = nameFromLabel(l);
    return n ? uniqueName(n, taken) : "";
  };
  const follows = !published && (/^automation_\d+$/.test(a.name) || a.name === derived(a.label ?? ""));
  useEffect(() => {
    if (pinyinReady && follows && a.label) {
      const n = derived(a.label);
      if (n && n !== a.name) onChange({ ...a, name: n });
    }
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [pinyinReady]);
  const setLabel = (l: string) => {
    const n = follows ? derived(l) : "";
    onChange(n ? { ...a, label: l, name: n } : { ...a, label: l });
  };
  const badName = !NAME_RE.test(a.name);
  const nameTaken = taken(a.name);

  return (
    <div className="auto-rule" data-testid="auto-rule">
      <div className="auto-rule-head">
        <h2 className="panel-title">{shownLabel(a, lang)}</h2>
        <div className="tabs" role="tablist">
          {(["rule", "runs", "test", ...(a.variants?.length ? ["ab"] : [])] as Panel[]).map((p) => (
            <button key={p} type="button" role="tab" aria-selected={panel === p} data-testid={`auto-panel-${p}`}
              className={"btn btn-small" + (panel === p ? " btn-active" : "")} onClick={() => setPanel(p)}>
              {t(`auto.panel.${p}` as MessageKey)}
            </button>
          ))}
        </div>
        <span className="row-actions">
          <button type="button" className="btn btn-small" data-testid="auto-duplicate" onClick={onDuplicate}>{t("auto.duplicate")}</button>
          <button type="button" className="btn btn-small btn-ghost danger-text" data-testid="auto-delete" onClick={onDelete}>{t("auto.delete")}</button>
        </span>
      </div>
      <p className="auto-sentence" data-testid="auto-sentence">{triggerSentence(t, doc, a, lang)}</p>
      {loose.length > 0 && (
        <div className="alert alert-error" role="alert" data-testid="auto-problems">
          <ul className="alert-details">{loose.map((p, i) => <li key={i}><span className="mono small">{p.path || "/"}</span> {problemText(p, t, label)}</li>)}</ul>
        </div>
      )}
      {panel !== "rule" ? (
        <AutomationPanels panel={panel} doc={doc} a={a} stored={stored} published={published} onProblems={setTestProblems}
          onShowRule={() => setPanel("rule")} />
      ) : (
        <>
          <div className="auto-row">
            <label className="field">
              <span className="field-label">{t("auto.label")}</span>
              <input value={a.label ?? ""} data-testid="auto-label" aria-invalid={at("/label").length > 0 || undefined} onChange={(e) => setLabel(e.target.value)} />
              {follows && a.label && <span className="muted small" data-testid="auto-name-preview">{t("design.nameFromLabel", { name: a.name })}</span>}
              <FieldProblems msgs={at("/label")} />
            </label>
            <label className="field">
              <span className="field-label">{t("auto.name")}</span>
              <input className="mono" value={a.name} data-testid="auto-name" readOnly={published} spellCheck={false} autoCapitalize="off"
                aria-invalid={badName || nameTaken || at("/name").length > 0 || undefined} onChange={(e) => onChange({ ...a, name: e.target.value })} />
              {published && <span className="muted small">{t("auto.namePublished")}</span>}
              {badName && <span className="field-error">{t("design.nameRule")}</span>}
              {nameTaken && <span className="field-error">{t("auto.nameTaken")}</span>}
              <FieldProblems msgs={at("/name")} testId="auto-problem-name" />
            </label>
          </div>
          <div className="auto-row">
            <label className="field">
              <span className="field-label">{t("auto.entity")}</span>
              <select value={a.entity} data-testid="auto-entity" aria-invalid={at("/entity").length > 0 || undefined}
                onChange={(e) => onChange({ ...a, entity: e.target.value, condition: undefined, trigger: setTriggerType({ type: a.trigger.type }, a.trigger.type, {}) })}>
                {!entity && <option value={a.entity}>{a.entity || "—"}</option>}
                {doc.entities.map((e) => <option key={e.name} value={e.name}>{e.label || e.name}</option>)}
              </select>
              <FieldProblems msgs={at("/entity")} testId="auto-problem-entity" />
            </label>
            <label className="field">
              <span className="field-label">{t("auto.role")}</span>
              <select value={a.role ?? ""} data-testid="auto-role" onChange={(e) => onChange({ ...a, role: e.target.value || undefined })}>
                <option value="">{t("auto.roleAll")}</option>
                {(doc.roles ?? []).map((r) => <option key={r.name} value={r.name}>{r.label || r.name}</option>)}
              </select>
              <span className="muted small">{t("auto.roleHint")}</span>
              <FieldProblems msgs={at("/role")} />
            </label>
          </div>
          <TriggerEditor doc={doc} entity={entity} trigger={a.trigger} at={at} onChange={(tr) => onChange({ ...a, trigger: tr })} />
          <section className="auto-section">
            <h3 className="panel-title">{t("auto.condition")}</h3>
            <p className="muted small">{t("auto.conditionHint")}</p>
            <ConditionInput fields={withPrevious(t, fields, a.trigger.type)} doc={doc} entity={a.entity} value={a.condition ?? ""} testId="auto-condition"
              problems={at("/condition")} onChange={(c) => onChange({ ...a, condition: c || undefined })} />
          </section>
          <ActionsEditor doc={doc} a={a} entity={entity} at={at} onChange={onChange} />
        </>
      )}
    </div>
  );
}

// For updates, the condition may compare a field's value before the change: previous.FIELD.
function withPrevious(t: (k: MessageKey, p?: Record<string, string>) => string, fields: Field[], type: TriggerType): Field[] {
  if (type !== "updated" && type !== "fieldChanged") return fields;
  const prev = fields.filter((f) => !f.id.startsWith("_") || f.name === "owner")
    .map((f) => ({ ...f, id: "prev_" + f.id, name: "previous." + f.name, label: t("auto.previousOf", { field: f.label || f.name }) }));
  return [...fields, ...prev];
}

// ConditionInput is a filter as the visual builder edits it, with its text
// (which an expert may type); text the builder cannot read back stays as
// typed until the builder applies another.
export function ConditionInput({ fields, doc, entity, value, onChange, testId, problems }: {
  fields: Field[]; doc: DDoc; entity?: string; value: string; onChange: (text: string) => void; testId: string; problems?: string[];
}) {
  const { t } = useI18n();
  // previous.FIELD is the automations' own: the editor offers it, the publish checks it.
  const checkable = !/\bprevious\./.test(value);
  const [gen, setGen] = useState(0);
  const model = useMemo(() => parseFilterText(fields, value) as FilterModel | null, [fields, value]);
  return (
    <div className="auto-condition" data-testid={testId}>
      <FilterBuilder key={gen + ":" + (model ? "m" : "x")} fields={fields} app={doc as never} value={model ?? undefined}
        onApply={(text) => onChange(text)} />
      {!model && value && <p className="muted small">{t("auto.conditionText")}</p>}
      <div className="field" onBlur={() => setGen((g) => g + 1)}>
        <ExpressionEditor mode="filter" scope="document" draft compact rows={1} fields={fields} app={doc as never} entity={entity}
          check={checkable} value={value} onChange={onChange} label={t("auto.conditionExpert")} testId={testId + "-expr"} inputTestId={testId + "-text"} />
        <FieldProblems msgs={problems ?? []} testId={testId + "-problem"} />
      </div>
    </div>
  );
}

const WEEKDAYS = [1, 2, 3, 4, 5, 6, 0];

function TriggerEditor({ doc, entity, trigger, at, onChange }: {
  doc: DDoc; entity: DEntity | undefined; trigger: Trigger; at: ProblemsAt; onChange: (t: Trigger) => void;
}) {
  const { t } = useI18n();
  const fields = ruleFields(entity);
  const flows = flowsOf(doc).filter((f) => !f.entity || f.entity === entity?.name);
  const dates = dateFields(entity);
  const set = (p: Partial<Trigger>) => onChange({ ...trigger, ...p });
  const choose = (type: TriggerType) => onChange(setTriggerType(trigger, type, {
    field: type === "timer" ? dates[0]?.name : type === "fieldChanged" ? entity?.fields[0]?.name : undefined,
    offset: type === "timer" ? "4h" : undefined,
    cron: type === "schedule" ? "0 9 * * 1" : undefined,
    timeZone: type === "schedule" ? browserTimeZone() : undefined,
    flow: type === "transition" ? flows[0]?.name : undefined,
  }));
  const changed = fields.find((f) => f.name === trigger.field);

  return (
    <section className="auto-section" data-testid="auto-trigger">
      <h3 className="panel-title">{t("auto.when")}</h3>
      <div className="auto-choices" role="radiogroup" aria-label={t("auto.when")}>
        {TRIGGER_TYPES.map((ty) => {
          const disabled = ty === "transition" && flows.length === 0 && trigger.type !== "transition";
          return (
            <label key={ty} className={"auto-choice" + (trigger.type === ty ? " active" : "") + (disabled ? " disabled" : "")}>
              <input type="radio" name="auto-trigger" value={ty} checked={trigger.type === ty} disabled={disabled} data-testid={`auto-trigger-${ty}`}
                onChange={() => choose(ty)} />
              <span>{t(`auto.trigger.${ty}` as MessageKey)}</span>
              {disabled && <span className="muted small" data-testid="auto-no-flows">{t("auto.noFlows")}</span>}
            </label>
          );
        })}
      </div>
      <FieldProblems msgs={at("/trigger/type")} />

      {trigger.type === "fieldChanged" && (
        <div className="auto-row">
          <label className="field">
            <span className="field-label">{t("auto.field")}</span>
            <select value={trigger.field ?? ""} data-testid="auto-trigger-field" aria-invalid={at("/trigger/field").length > 0 || undefined}
              onChange={(e) => set({ field: e.target.value, from: undefined, to: undefined })}>
              <option value="" />
              {fields.filter((f) => f.name !== "id").map((f) => <option key={f.name} value={f.name}>{fieldName(t, f)}</option>)}
            </select>
            <FieldProblems msgs={at("/trigger/field")} testId="auto-problem-trigger-field" />
          </label>
          <label className="field">
            <span className="field-label">{t("auto.from")}</span>
            <TypedValue field={changed} value={trigger.from} testId="auto-trigger-from" onChange={(v) => set({ from: v })} />
            <FieldProblems msgs={at("/trigger/from")} />
          </label>
          <label className="field">
            <span className="field-label">{t("auto.to")}</span>
            <TypedValue field={changed} value={trigger.to} testId="auto-trigger-to" onChange={(v) => set({ to: v })} />
            <FieldProblems msgs={at("/trigger/to")} />
          </label>
        </div>
      )}

      {trigger.type === "transition" && (
        <div className="auto-row">
          <label className="field">
            <span className="field-label">{t("auto.flow")}</span>
            <select value={trigger.flow ?? ""} data-testid="auto-trigger-flow" onChange={(e) => set({ flow: e.target.value, transition: undefined })}>
              <option value="" />
              {flows.map((f) => <option key={f.name} value={f.name}>{f.label}</option>)}
            </select>
            <FieldProblems msgs={at("/trigger/flow")} />
          </label>
          <label className="field">
            <span className="field-label">{t("auto.transition")}</span>
            <select value={trigger.transition ?? ""} data-testid="auto-trigger-transition" onChange={(e) => set({ transition: e.target.value || undefined })}>
              <option value="">{t("auto.anyTransition")}</option>
              {(flows.find((f) => f.name === trigger.flow)?.transitions ?? []).map((x) => <option key={x} value={x}>{x}</option>)}
            </select>
            <FieldProblems msgs={at("/trigger/transition")} />
          </label>
        </div>
      )}

      {trigger.type === "schedule" && <ScheduleEditor doc={doc} entity={entity} trigger={trigger} at={at} set={set} />}

      {trigger.type === "timer" && (
        <TimerEditor doc={doc} entity={entity} dates={dates} trigger={trigger} at={at} set={set} />
      )}
    </section>
  );
}

function ScheduleEditor({ doc, entity, trigger, at, set }: {
  doc: DDoc; entity: DEntity | undefined; trigger: Trigger; at: ProblemsAt; set: (p: Partial<Trigger>) => void;
}) {
  const { t } = useI18n();
  const preset = presetOf(trigger.cron);
  const [expert, setExpert] = useState(preset.kind === "custom");
  const time = preset.kind === "custom" ? "09:00" : preset.time;
  const setPreset = (p: CronPreset) => set({ cron: cronOf(p) });
  const zones = useMemo(() => timeZones(trigger.timeZone), [trigger.timeZone]);
  return (
    <>
      <div className="auto-row">
        <label className="field">
          <span className="field-label">{t("auto.repeat")}</span>
          <select value={expert ? "custom" : preset.kind} data-testid="auto-cron-preset"
            onChange={(e) => {
              const k = e.target.value;
              if (k === "custom") return setExpert(true);
              setExpert(false);
              setPreset(k === "weekly" ? { kind: "weekly", day: preset.kind === "weekly" ? preset.day : 1, time } : { kind: k as "daily" | "monthly", time });
            }}>
            <option value="daily">{t("auto.cron.daily")}</option>
            <option value="weekly">{t("auto.cron.weekly")}</option>
            <option value="monthly">{t("auto.cron.monthly")}</option>
            <option value="custom">{t("auto.cron.custom")}</option>
          </select>
        </label>
        {!expert && preset.kind === "weekly" && (
          <label className="field">
            <span className="field-label">{t("auto.weekday")}</span>
            <select value={preset.day} data-testid="auto-cron-day" onChange={(e) => setPreset({ ...preset, day: Number(e.target.value) })}>
              {WEEKDAYS.map((d) => <option key={d} value={d}>{t(`auto.day.${d}` as MessageKey)}</option>)}
            </select>
          </label>
        )}
        {!expert && preset.kind !== "custom" && (
          <label className="field">
            <span className="field-label">{t("auto.at")}</span>
            <input type="time" value={time} data-testid="auto-cron-time" onChange={(e) => e.target.value && setPreset({ ...preset, time: e.target.value })} />
          </label>
        )}
        <label className="field">
          <span className="field-label">{t("auto.cron")}</span>
          <input className="mono" value={trigger.cron ?? ""} data-testid="auto-cron" readOnly={!expert} placeholder="0 9 * * 1" spellCheck={false}
            aria-invalid={at("/trigger/cron").length > 0 || undefined} onChange={(e) => set({ cron: e.target.value })} />
          {expert && <span className="muted small">{t("auto.cronHint")}</span>}
          <FieldProblems msgs={at("/trigger/cron")} testId="auto-problem-cron" />
        </label>
        <label className="field">
          <span className="field-label">{t("auto.timeZone")}</span>
          <select value={trigger.timeZone ?? "UTC"} data-testid="auto-tz" onChange={(e) => set({ timeZone: e.target.value })}>
            {zones.map((z) => <option key={z} value={z}>{z}</option>)}
          </select>
          <FieldProblems msgs={at("/trigger/timeZone")} />
        </label>
      </div>
      <div className="auto-subsection">
        <span className="field-label">{t("auto.scheduleFilter")}</span>
        <ConditionInput fields={filterableFields(entity?.fields ?? [])} doc={doc} entity={entity?.name} value={trigger.filter ?? ""} testId="auto-schedule-filter"
          problems={at("/trigger/filter")} onChange={(f) => set({ filter: f || undefined })} />
      </div>
    </>
  );
}

function TimerEditor({ doc, entity, dates, trigger, at, set }: {
  doc: DDoc; entity: DEntity | undefined; dates: Field[]; trigger: Trigger; at: ProblemsAt; set: (p: Partial<Trigger>) => void;
}) {
  const { t } = useI18n();
  const off = parseOffset(trigger.offset);
  const o = off ?? { amount: 0, unit: "h" as Unit, before: false };
  const setOff = (p: Partial<typeof o>) => {
    const n = { ...o, ...p };
    set({ offset: (n.before ? "-" : "") + Math.max(0, Math.floor(n.amount || 0)) + n.unit });
  };
  return (
    <>
      <div className="auto-row">
        <label className="field auto-narrow">
          <span className="field-label">{t("auto.amount")}</span>
          <input type="number" min={0} value={off ? o.amount : ""} data-testid="auto-timer-amount" onChange={(e) => setOff({ amount: Number(e.target.value) })} />
        </label>
        <label className="field auto-narrow">
          <span className="field-label">{t("auto.unit")}</span>
          <select value={o.unit} data-testid="auto-timer-unit" onChange={(e) => setOff({ unit: e.target.value as Unit })}>
            <option value="m">{t("auto.unit.m")}</option>
            <option value="h">{t("auto.unit.h")}</option>
            <option value="d">{t("auto.unit.d")}</option>
          </select>
        </label>
        <label className="field auto-narrow">
          <span className="field-label">{t("auto.beforeAfter")}</span>
          <select value={o.before ? "before" : "after"} data-testid="auto-timer-dir" onChange={(e) => setOff({ before: e.target.value === "before" })}>
            <option value="after">{t("auto.after")}</option>
            <option value="before">{t("auto.before")}</option>
          </select>
        </label>
        <label className="field">
          <span className="field-label">{t("auto.dateField")}</span>
          <select value={trigger.field ?? ""} data-testid="auto-timer-field" aria-invalid={at("/trigger/field").length > 0 || undefined}
            onChange={(e) => set({ field: e.target.value })}>
            <option value="" />
            {dates.map((f) => <option key={f.name} value={f.name}>{fieldName(t, f)}</option>)}
          </select>
          <FieldProblems msgs={at("/trigger/field")} testId="auto-problem-timer-field" />
        </label>
      </div>
      {!off && (
        <label className="field">
          <span className="field-label">{t("auto.offset")}</span>
          <input className="mono" value={trigger.offset ?? ""} data-testid="auto-timer-offset" onChange={(e) => set({ offset: e.target.value })} />
        </label>
      )}
      <FieldProblems msgs={at("/trigger/offset")} testId="auto-problem-offset" />
      <div className="auto-subsection">
        <span className="field-label">{t("auto.unless")}</span>
        <p className="muted small">{t("auto.unlessHint")}</p>
        <ConditionInput fields={filterableFields(entity?.fields ?? [])} doc={doc} entity={entity?.name} value={trigger.unless ?? ""} testId="auto-unless"
          problems={at("/trigger/unless")} onChange={(u) => set({ unless: u || undefined })} />
      </div>
    </>
  );
}

export function fieldName(t: (k: MessageKey) => string, f: Field): string {
  return f.id.startsWith("_") ? t(("sys." + f.name) as MessageKey) : f.label || f.name;
}

// TypedValue: a from/to value as the field's type takes it (any when empty).
function TypedValue({ field, value, onChange, testId }: { field: Field | undefined; value: unknown; onChange: (v: unknown) => void; testId: string }) {
  const { t } = useI18n();
  const text = valueText(value);
  const pick = (raw: string) => onChange(typedValue(field, raw));
  if (field?.type === "select" && field.options?.length) {
    return (
      <select value={text} data-testid={testId} onChange={(e) => pick(e.target.value)}>
        <option value="">{t("auto.anyValue")}</option>
        <option value={"\u0000null"}>{t("auto.emptyValue")}</option>
        {field.options.map((o) => <option key={o} value={o}>{o}</option>)}
      </select>
    );
  }
  if (field?.type === "boolean") {
    return (
      <select value={text} data-testid={testId} onChange={(e) => pick(e.target.value)}>
        <option value="">{t("auto.anyValue")}</option>
        <option value="true">{t("common.yes")}</option>
        <option value="false">{t("common.no")}</option>
      </select>
    );
  }
  const numeric = field?.type === "integer" || field?.type === "decimal";
  return (
    <input value={text === "\u0000null" ? "" : text} data-testid={testId} inputMode={numeric ? "decimal" : undefined} placeholder={t("auto.anyValue")}
      type={field?.type === "date" ? "date" : "text"} onChange={(e) => pick(e.target.value)} />
  );
}

// triggerSentence reads the trigger back: "When a Quote's Stage changes to Won".
export function triggerSentence(t: (k: MessageKey, p?: Record<string, string | number>) => string, doc: DDoc, a: Automation, lang: string): string {
  const e = doc.entities.find((x) => x.name === a.entity);
  const bare = e ? e.label || e.name : a.entity || "…";
  // English sentences take the article with the entity: "an Opportunity", "a Quote".
  const entity = lang === "en" ? withArticle(bare) : bare;
  const fieldL = (n: string | undefined) => {
    if (!n) return "…";
    const f = ruleFields(e).find((x) => x.name === n);
    return f ? fieldName(t as (k: MessageKey) => string, f) : n;
  };
  const val = (v: unknown) => (v === null ? t("auto.emptyValue") : typeof v === "boolean" ? t(v ? "common.yes" : "common.no") : String(v));
  const tr = a.trigger ?? { type: "created" };
  let s: string;
  switch (tr.type) {
    case "fieldChanged": {
      s = t("auto.s.fieldChanged", { entity, field: fieldL(tr.field) });
      if (tr.from !== undefined) s += t("auto.s.from", { value: val(tr.from) });
      if (tr.to !== undefined) s += t("auto.s.to", { value: val(tr.to) });
      break;
    }
    case "transition": {
      const f = flowsOf(doc).find((x) => x.name === tr.flow);
      s = t("auto.s.transition", { entity, flow: f?.label ?? tr.flow ?? "…", transition: tr.transition || t("auto.anyTransition") });
      break;
    }
    case "schedule": {
      const p = presetOf(tr.cron);
      const when = p.kind === "daily" ? t("auto.s.daily", { time: p.time })
        : p.kind === "weekly" ? t("auto.s.weekly", { day: t(`auto.day.${p.day}` as MessageKey), time: p.time })
          : p.kind === "monthly" ? t("auto.s.monthly", { time: p.time }) : t("auto.s.cron", { cron: tr.cron || "…" });
      s = t(tr.filter ? "auto.s.scheduleFiltered" : "auto.s.schedule", { when, tz: tr.timeZone || "UTC", entity });
      break;
    }
    case "timer": {
      const o = parseOffset(tr.offset);
      const amount = o ? t(`auto.s.unit.${o.unit}` as MessageKey, { n: o.amount }) : tr.offset || "…";
      s = t(o?.before ? "auto.s.timerBefore" : "auto.s.timerAfter", { amount, entity, field: fieldL(tr.field) });
      if (tr.unless) s += t("auto.s.unless");
      break;
    }
    default:
      s = t(`auto.s.${tr.type}` as MessageKey, { entity });
  }
  if (a.condition) s += t("auto.s.condition");
  return s;
}

// withArticle: "an Opportunity", "a Quote" (English only).
export function withArticle(name: string): string {
  return (/^[aeiou]/i.test(name) ? "an " : "a ") + name;
}
