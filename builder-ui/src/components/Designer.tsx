// The app designer (admins): entities on the left, the selected entity's
// fields with a palette of field types in the middle (drag and drop with
// pointer, touch or keyboard, or click; up/down buttons too), the selected field's settings on
// the right; Publish shows the migration plan of a dry run, then applies it.
import { lazy, Suspense, useCallback, useEffect, useState } from "react";
import { api, ApiError, type ApplyResult, type ErrorDetail, type FieldType } from "../api";
import { dropDraft, loadDraft } from "../designer/drafts";
import { useServerDraft } from "../designer/serverDraft";
import { DraftBar } from "./DraftBar";
import {
  addEntity, COMPUTED, FIELD_TYPES, fieldKey, hasErrors, insertField, mapErrors, moveField, NAME_RE, newField, noErrors,
  removeEntity, removeField, setFieldType, updateEntity, updateField, type DDoc, type DesignErrors, type DField,
} from "../designer/model";
import { useI18n } from "../i18n";
import { problemText } from "../problems";
import { labelIn } from "../expr";
import { href, navigate } from "../router";
import { DndArea, DragRow, DropList, PaletteItem, type DropAt } from "../dnd";
import { ErrorBox, errorText, Icon, Loading } from "./common";
import { NameLabelDialog } from "./Dialog";
import { FieldConfig } from "./FieldConfig";
import { ValidationsEditor } from "./ValidationsEditor";
import { PlanDialog } from "./PlanDialog";
import { ScriptEditor } from "./ScriptEditor";
import { FormsEditor } from "./FormsEditor";
import { ListViewEditor } from "./ListViewEditor";
import { RolesEditor } from "./RolesEditor";
import { DashboardsEditor } from "./DashboardsEditor";
import { AutomationsEditor } from "./AutomationsEditor";
import { AssignmentsEditor } from "./AssignmentsEditor";
import { MatchingEditor } from "./MatchingEditor";
import { ConnectorsEditor } from "./ConnectorsEditor";
import { renameEntityInConnectors, renameFieldInConnectors } from "../designer/connectors";
import { renameEntityInAutomations, renameFieldInAutomations } from "../designer/automations";
import { renameEntityInFlows, renameFieldInFlows } from "../designer/flows";
// The flow editor brings @xyflow/react: its own chunk, loaded when the tab opens.
const FlowsEditor = lazy(() => import("./FlowsEditor").then((m) => ({ default: m.FlowsEditor })));
import { dropEntityRefs, renameEntityRefs, renameFieldRefs } from "../designer/layouts";

function normalize(d: DDoc): DDoc {
  return { ...d, entities: (d.entities ?? []).map((e) => ({ ...e, fields: e.fields ?? [] })) };
}

type Tab = "model" | "scripts" | "forms" | "list" | "roles" | "dashboards" | "automations" | "flows" | "assignments" | "matching" | "connectors";

type Drag = { kind: "type"; type: FieldType } | { kind: "field"; id: string };

export function Designer({ app, draft }: { app: string; draft?: boolean }) {
  const { t, lang } = useI18n();
  const [doc, setDoc] = useState<DDoc | null>(null);
  const [stored, setStored] = useState(!draft);
  const [loadError, setLoadError] = useState<unknown>(null);
  const [ei, setEi] = useState(0);
  const [fieldId, setFieldId] = useState<string | null>(null);
  const [errors, setErrors] = useState<DesignErrors>(noErrors);
  // The last 422's details as sent: the Automations tab places /automations/… on its inputs.
  const [details, setDetails] = useState<ErrorDetail[]>([]);
  const [publishError, setPublishError] = useState<unknown>(null);
  const [conflict, setConflict] = useState(false);
  const [published, setPublished] = useState<number | null>(null);
  const [plan, setPlan] = useState<{ result: ApplyResult; doc: DDoc } | null>(null);
  const [busy, setBusy] = useState(false);
  const [dirty, setDirty] = useState(false);
  const [addingEntity, setAddingEntity] = useState(false);
  const [tab, setTab] = useState<Tab>("model");
  const [dropAt, setDropAt] = useState<number | null>(null);
  // Ids of the fields of the published version: their names no longer follow their labels.
  const [publishedIds, setPublishedIds] = useState<Set<string>>(() => new Set());

  const load = useCallback(async (keepSelection = false) => {
    setLoadError(null);
    try {
      // A draft stays a draft until an app of its name exists (asked through
      // the list, so a new name is no 404).
      if (draft && !(await api.apps()).items?.some((a) => a.name === app)) {
        setDoc(loadDraft(app));
        setStored(false);
        setDirty(true);
        return;
      }
      const d = normalize((await api.app(app)) as unknown as DDoc);
      setDoc(d);
      setPublishedIds(new Set(d.entities.flatMap((e) => e.fields.map((f) => f.id))));
      setStored(true);
      setDirty(false);
      if (!keepSelection) {
        setEi(0);
        setFieldId(null);
      }
    } catch (e) {
      if (draft && e instanceof ApiError && e.status === 404) {
        setDoc(loadDraft(app));
        setStored(false);
        setDirty(true);
      } else setLoadError(e);
    }
  }, [app, draft]);

  useEffect(() => {
    void load();
    // Only a different app reloads; #/design/x/new → #/design/x after the first publish keeps the screen.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [app]);

  // Every change is saved on the server as this admin's draft (serverDraft.ts).
  const serverDraft = useServerDraft(app, doc, dirty, stored ? doc?.version ?? 0 : 0, (d) => {
    setDoc(normalize(d));
    setDirty(true);
  });

  if (loadError) return <section className="page"><ErrorBox error={loadError} onRetry={() => void load()} /></section>;
  if (!doc) return <Loading />;

  const entity = doc.entities[ei];
  const field = entity?.fields.find((f) => f.id === fieldId) ?? null;

  function edit(next: DDoc) {
    setDoc(next);
    setDirty(true);
    setPublished(null);
  }

  function addField(type: FieldType, at?: number) {
    if (!doc || !entity) return;
    const f = newField(doc, ei, type);
    edit(insertField(doc, ei, f, at));
    setFieldId(f.id);
  }

  function patchField(patch: Partial<DField>) {
    if (!doc || !field || !entity) return;
    let next = updateField(doc, ei, field.id, patch);
    // Form layouts, list views and role rules name fields: a rename follows.
    if (typeof patch.name === "string" && patch.name !== field.name && patch.name && !entity.fields.some((f) => f.name === patch.name)) {
      next = renameFieldInConnectors(renameFieldInAutomations(renameFieldRefs(next, entity.name, field.name, patch.name), entity.name, field.name, patch.name), entity.name, field.name, patch.name);
      next = renameFieldInFlows(next, entity.name, field.name, patch.name);
    }
    edit(next);
    const k = fieldKey(ei, field.id);
    if (errors.fields[k]) {
      const rest = { ...errors.fields };
      delete rest[k];
      setErrors({ ...errors, fields: rest });
    }
  }

  // Drag and drop: palette types and field rows are dragged onto the list;
  // a row's upper half drops before it, the lower half after it.
  function over(at: DropAt | null) {
    setDropAt(at ? at.at ?? entity?.fields.length ?? 0 : null);
  }
  function drop(d: Drag, target: DropAt) {
    if (!doc || !entity) return;
    const at = target.at ?? entity.fields.length;
    if (d.kind === "type") addField(d.type, at);
    else {
      const from = entity.fields.findIndex((f) => f.id === d.id);
      if (from >= 0 && at !== from && at !== from + 1) edit(moveField(doc, ei, from, at));
    }
  }
  function dragLabel(d: Drag): string {
    if (d.kind === "type") return t(`type.${d.type}`);
    const f = entity?.fields.find((x) => x.id === d.id);
    return f ? f.label || f.name : "";
  }

  async function publish() {
    if (!doc) return;
    setPublishError(null);
    setConflict(false);
    setPublished(null);
    setErrors(noErrors());
    setDetails([]);
    setBusy(true);
    const sent = doc;
    try {
      const r = await api.applyApp(sent, { dryRun: true });
      setPlan({ result: r, doc: sent });
    } catch (e) {
      failed(e, sent);
    } finally {
      setBusy(false);
    }
  }

  function failed(e: unknown, sent: DDoc) {
    if (e instanceof ApiError && e.status === 409) {
      setConflict(true);
      return;
    }
    if (e instanceof ApiError && e.status === 422 && e.details.length > 0) {
      // Each problem in the user's language, a field named by its label.
      const label = (name: string) => {
        for (const en of sent.entities) {
          const f = en.fields.find((x) => x.name === name);
          if (f) return labelIn(f as unknown as Parameters<typeof labelIn>[0], lang);
        }
        return name;
      };
      const m = mapErrors(e.details, sent, (d) => problemText(d, t, label));
      setErrors(m);
      setDetails(e.details);
      if (m.general.length > 0 || !hasErrors(m)) setPublishError(e);
      else setPublishError(new ApiError(e.status, e.code, e.message));
      // Only forms or roles in trouble: open their tab.
      if (Object.keys(m.fields).length === 0 && Object.keys(m.entities).length === 0) {
        const fi = Object.keys(m.forms)[0];
        if (fi !== undefined) setTab(sent.forms?.[Number(fi)]?.kind === "list" ? "list" : "forms");
        else if (Object.keys(m.roles).length) setTab("roles");
        else if (e.details.some((d) => d.path?.startsWith("/automations/"))) setTab("automations");
        else if (e.details.some((d) => d.path?.startsWith("/flows/"))) setTab("flows");
        else if (e.details.some((d) => d.path?.startsWith("/assignments/"))) setTab("assignments");
        else if (e.details.some((d) => d.path?.startsWith("/matching/"))) setTab("matching");
        else if (e.details.some((d) => d.path?.startsWith("/connectors/"))) setTab("connectors");
      }
      // Show the first field in trouble.
      const first = Object.keys(m.fields)[0];
      if (first) {
        const [i, id] = [Number(first.split("/")[0]), first.slice(first.indexOf("/") + 1)];
        setEi(i);
        setFieldId(id);
      } else {
        const firstEntity = Object.keys(m.entities)[0];
        if (firstEntity !== undefined) setEi(Number(firstEntity));
      }
      return;
    }
    setPublishError(e);
  }

  async function apply(allowDestructive: boolean) {
    if (!plan) return;
    setBusy(true);
    const sent = plan.doc;
    try {
      const r = await api.applyApp(sent, { allowDestructive });
      setPlan(null);
      dropDraft(app);
      void serverDraft.discard().catch(() => undefined);
      await load(true);
      setPublished(r.version);
      if (draft) navigate({ name: "design", app });
    } catch (e) {
      setPlan(null);
      failed(e, sent);
    } finally {
      setBusy(false);
    }
  }

  const entityErrors = (i: number) => errors.entities[i] ?? [];

  return (
    <section className="designer">
      <div className="page-head">
        <h1>
          {t("design.title", { app: doc.label || doc.name })}{" "}
          <span className="muted small">{doc.name}{stored && doc.version ? " · " + t("apps.version", { n: doc.version }) : " · " + t("design.unpublished")}</span>
        </h1>
        <div className="page-actions">
          <a className="btn btn-small btn-ghost" href={href({ name: "connectors", app })} data-testid="design-connectors-link">{t("plugins.title")}</a>
          <div className="tabs" role="tablist">
            <button type="button" role="tab" aria-selected={tab === "model"} className={"btn btn-small" + (tab === "model" ? " btn-active" : "")}
              data-testid="tab-model" onClick={() => setTab("model")}>{t("design.tabModel")}</button>
            <button type="button" role="tab" aria-selected={tab === "scripts"} className={"btn btn-small" + (tab === "scripts" ? " btn-active" : "")}
              data-testid="tab-scripts" onClick={() => setTab("scripts")}>{t("design.tabScripts")}</button>
            {(["forms", "list", "roles"] as const).map((k) => {
              const bad = k === "roles" ? Object.keys(errors.roles).length > 0
                : Object.keys(errors.forms).some((i) => (doc.forms?.[Number(i)]?.kind === "list" ? "list" : "forms") === k);
              return (
                <button key={k} type="button" role="tab" aria-selected={tab === k} data-testid={`tab-${k}`} onClick={() => setTab(k)}
                  className={"btn btn-small" + (tab === k ? " btn-active" : "") + (bad ? " has-error" : "")}>
                  {t(k === "forms" ? "design.tabForms" : k === "list" ? "design.tabList" : "design.tabRoles")}
                </button>
              );
            })}
            <button type="button" role="tab" aria-selected={tab === "dashboards"} data-testid="tab-dashboards" onClick={() => setTab("dashboards")}
              className={"btn btn-small" + (tab === "dashboards" ? " btn-active" : "")}>{t("design.tabDashboards")}</button>
            <button type="button" role="tab" aria-selected={tab === "automations"} data-testid="tab-automations" onClick={() => setTab("automations")}
              className={"btn btn-small" + (tab === "automations" ? " btn-active" : "") + (details.some((d) => d.path?.startsWith("/automations/")) ? " has-error" : "")}>
              {t("design.tabAutomations")}
            </button>
            <button type="button" role="tab" aria-selected={tab === "flows"} data-testid="tab-flows" onClick={() => setTab("flows")}
              className={"btn btn-small" + (tab === "flows" ? " btn-active" : "") + (details.some((d) => d.path?.startsWith("/flows/")) ? " has-error" : "")}>
              {t("design.tabFlows")}
            </button>
            <button type="button" role="tab" aria-selected={tab === "assignments"} data-testid="tab-assignments" onClick={() => setTab("assignments")}
              className={"btn btn-small" + (tab === "assignments" ? " btn-active" : "") + (details.some((d) => d.path?.startsWith("/assignments/")) ? " has-error" : "")}>
              {t("design.tabAssignments")}
            </button>
            <button type="button" role="tab" aria-selected={tab === "matching"} data-testid="tab-matching" onClick={() => setTab("matching")}
              className={"btn btn-small" + (tab === "matching" ? " btn-active" : "") + (details.some((d) => d.path?.startsWith("/matching/")) ? " has-error" : "")}>
              {t("design.tabMatching")}
            </button>
            <button type="button" role="tab" aria-selected={tab === "connectors"} data-testid="tab-connectors" onClick={() => setTab("connectors")}
              className={"btn btn-small" + (tab === "connectors" ? " btn-active" : "") + (details.some((d) => d.path?.startsWith("/connectors/")) ? " has-error" : "")}>
              {t("design.tabConnectors")}
            </button>
          </div>
          {stored && <a className="btn" href={href({ name: "app", app: doc.name })} data-testid="open-app">{t("design.openApp")}</a>}
          <button type="button" className="btn btn-primary" data-testid="publish" disabled={busy} onClick={() => void publish()}>
            {busy && !plan ? t("design.checking") : t("design.publish")}
          </button>
        </div>
      </div>
      {dirty && stored && <p className="muted small" data-testid="designer-dirty">{t("design.unsaved")}</p>}
      <DraftBar {...serverDraft} onDiscard={() => void serverDraft.discard().then(() => load(), () => undefined)} />
      {published !== null && (
        <div className="alert alert-ok" role="status" data-testid="publish-ok">{t("design.published", { n: published })}</div>
      )}
      {conflict && (
        <div className="alert alert-warn" role="alert" data-testid="publish-conflict">
          <div>{t("design.conflict")}</div>
          <button type="button" className="btn btn-small" data-testid="publish-reload" onClick={() => { setConflict(false); setErrors(noErrors()); void load(); }}>
            {t("form.reload")}
          </button>
        </div>
      )}
      {publishError ? (
        <div data-testid="publish-error">
          {errors.general.length > 0 ? (
            <div className="alert alert-error" role="alert">
              <div>{errorText(publishError, t)}</div>
              <ul className="alert-details">{errors.general.map((m, i) => <li key={i}>{m}</li>)}</ul>
            </div>
          ) : hasErrors(errors) ? (
            <div className="alert alert-error" role="alert">{t("design.fixMarked")}</div>
          ) : (
            <ErrorBox error={publishError} />
          )}
        </div>
      ) : null}

      {tab === "scripts" ? (
        <ScriptEditor app={doc.name} stored={stored} doc={doc} onChange={edit} />
      ) : tab === "forms" ? (
        <FormsEditor doc={doc} onChange={edit} errors={errors} />
      ) : tab === "list" ? (
        <ListViewEditor doc={doc} onChange={edit} errors={errors} stored={stored} dirty={dirty} onApplied={() => void load(true)} />
      ) : tab === "roles" ? (
        <RolesEditor doc={doc} onChange={edit} errors={errors} />
      ) : tab === "dashboards" ? (
        <DashboardsEditor doc={doc} onChange={edit} stored={stored} />
      ) : tab === "automations" ? (
        <AutomationsEditor doc={doc} onChange={edit} stored={stored} problems={details} />
      ) : tab === "assignments" ? (
        <AssignmentsEditor doc={doc} onChange={edit} problems={details} />
      ) : tab === "matching" ? (
        <MatchingEditor doc={doc} onChange={edit} problems={details} />
      ) : tab === "connectors" ? (
        <ConnectorsEditor doc={doc} onChange={edit} problems={details} stored={stored} />
      ) : tab === "flows" ? (
        <Suspense fallback={<Loading />}><FlowsEditor doc={doc} onChange={edit} problems={details} /></Suspense>
      ) : (
        <div className="designer-grid">
          <aside className="designer-col designer-entities" aria-label={t("design.entities")}>
            <h2 className="panel-title">{t("design.entities")}</h2>
            {doc.entities.length === 0 && <p className="muted small">{t("design.noEntities")}</p>}
            <ul className="designer-list">
              {doc.entities.map((e, i) => (
                <li key={e.id ?? e.name}>
                  <button type="button" className={"designer-item" + (i === ei ? " active" : "") + (entityErrors(i).length || Object.keys(errors.fields).some((k) => k.startsWith(i + "/")) ? " has-error" : "")}
                    aria-current={i === ei || undefined} data-testid={`designer-entity-${e.name}`}
                    onClick={() => { setEi(i); setFieldId(null); }}>
                    <span>{e.label || e.name}</span>
                    <span className="muted small mono">{e.name}</span>
                  </button>
                </li>
              ))}
            </ul>
            <button type="button" className="btn btn-block" data-testid="add-entity" onClick={() => setAddingEntity(true)}>
              <Icon.plus /> {t("design.addEntity")}
            </button>
          </aside>

          <div className="designer-col designer-fields">
            {!entity ? (
              <p className="muted">{t("design.addEntityFirst")}</p>
            ) : (
              <DndArea<Drag> onDrop={drop} onOver={over} overlay={(d) => <span className="palette-item">{dragLabel(d)}</span>}>
                <div className="entity-config">
                  <label className="field">
                    <span className="field-label">{t("design.entityLabel")}</span>
                    <input value={entity.label ?? ""} data-testid="entity-config-label" onChange={(e) => edit(updateEntity(doc, ei, { label: e.target.value }))} />
                  </label>
                  <label className="field">
                    <span className="field-label">{t("design.entityName")}</span>
                    <input className="mono" value={entity.name} data-testid="entity-config-name" aria-invalid={!NAME_RE.test(entity.name) || undefined}
                      onChange={(e) => {
                        const n = e.target.value;
                        const next = updateEntity(doc, ei, { name: n });
                        // Forms and roles name entities: a rename follows (not onto another entity's name).
                        edit(!doc.entities.some((x, j) => j !== ei && x.name === n) ? renameEntityInConnectors(renameEntityInFlows(renameEntityInAutomations(renameEntityRefs(next, entity.name, n), entity.name, n), entity.name, n), entity.name, n) : next);
                      }} />
                  </label>
                </div>
                <div className="entity-actions">
                  <button type="button" className="btn btn-small btn-ghost danger-text" data-testid="entity-delete"
                    onClick={() => { edit(dropEntityRefs(removeEntity(doc, ei), entity.name)); setErrors(noErrors()); setEi(Math.max(0, ei - 1)); setFieldId(null); }}>
                    {t("design.deleteEntity")}
                  </button>
                </div>
                {entityErrors(ei).length > 0 && (
                  <div className="alert alert-error" role="alert" data-testid={`designer-entity-error-${entity.name}`}>
                    <ul className="alert-details">{entityErrors(ei).map((m, i) => <li key={i}>{m}</li>)}</ul>
                  </div>
                )}
                <div className="palette" data-testid="palette" aria-label={t("design.palette")}>
                  <span className="muted small palette-hint">{t("design.paletteHint")}</span>
                  {FIELD_TYPES.map((ty) => (
                    <PaletteItem key={ty} id={"type:" + ty} data={{ kind: "type", type: ty } satisfies Drag}
                      className={"palette-item" + (COMPUTED.includes(ty) ? " computed" : "")}
                      testId={`palette-${ty}`} title={t("design.paletteAdd", { type: t(`type.${ty}`) })} onClick={() => addField(ty)}>
                      {t(`type.${ty}`)}
                    </PaletteItem>
                  ))}
                </div>
                <DropList zone="fields" className={"designer-fieldlist" + (dropAt !== null ? " dragging" : "")} testId="field-dropzone"
                  label={t("design.fields")}>
                  {entity.fields.length === 0 && <li className="muted dropzone-empty">{t("design.dropHere")}</li>}
                  {entity.fields.map((f, i) => {
                    const errs = errors.fields[fieldKey(ei, f.id)];
                    const cls = ["designer-field"];
                    if (f.id === fieldId) cls.push("active");
                    if (errs) cls.push("has-error");
                    if (dropAt === i) cls.push("drop-before");
                    if (dropAt === i + 1 && i === entity.fields.length - 1) cls.push("drop-after");
                    return (
                      <DragRow key={f.id} id={"field:" + f.id} data={{ kind: "field", id: f.id } satisfies Drag} zone="fields" index={i}
                        className={cls.join(" ")} testId={`designer-field-${f.name}`} dataId={f.id} onClick={() => setFieldId(f.id)}
                        handleLabel={t("design.dragField", { field: f.label || f.name })}>
                        <button type="button" className="designer-field-main" aria-pressed={f.id === fieldId} onClick={() => setFieldId(f.id)}>
                          <span>{f.label || f.name}</span>
                          <span className="muted small mono">{f.name}</span>
                          <span className="tag">{t(`type.${f.type}`)}</span>
                          {f.required && <span className="req" title={t("design.required")}>*</span>}
                        </button>
                        {errs && <span className="field-error designer-field-error" data-testid={`designer-field-error-${f.name}`} title={errs.join("\n")}>{errs[0]}</span>}
                        <span className="row-actions">
                          <button type="button" className="btn btn-icon btn-small" data-testid={`field-up-${f.name}`} disabled={i === 0}
                            aria-label={t("design.moveUp", { field: f.name })} onClick={(e) => { e.stopPropagation(); edit(moveField(doc, ei, i, i - 1)); }}>
                            <Icon.up />
                          </button>
                          <button type="button" className="btn btn-icon btn-small" data-testid={`field-down-${f.name}`} disabled={i === entity.fields.length - 1}
                            aria-label={t("design.moveDown", { field: f.name })} onClick={(e) => { e.stopPropagation(); edit(moveField(doc, ei, i, i + 2)); }}>
                            <Icon.down />
                          </button>
                        </span>
                      </DragRow>
                    );
                  })}
                </DropList>
              </DndArea>
            )}
          </div>

          <aside className="designer-col designer-config">
            {field && entity ? (
              <FieldConfig key={field.id} doc={doc} entityIndex={ei} field={field} errors={errors.fields[fieldKey(ei, field.id)] ?? []}
                published={publishedIds.has(field.id)}
                onChange={patchField}
                onType={(ty) => edit(setFieldType(doc, ei, field.id, ty))}
                onDelete={() => { edit(renameFieldRefs(removeField(doc, ei, field.id), entity.name, field.name, null)); setFieldId(null); }} />
            ) : (
              <>
                <p className="muted small">{entity ? t("design.selectField") : ""}</p>
                {entity && <ValidationsEditor doc={doc} entityIndex={ei} onChange={edit} />}
              </>
            )}
          </aside>
        </div>
      )}

      {addingEntity && (
        <EntityDialog taken={doc.entities.map((e) => e.name)} onCancel={() => setAddingEntity(false)}
          onSave={(name, label) => {
            edit(addEntity(doc, name, label));
            setEi(doc.entities.length);
            setFieldId(null);
            setAddingEntity(false);
          }} />
      )}
      {plan && (
        <PlanDialog plan={plan.result.plan} busy={busy} onCancel={() => setPlan(null)} onApply={(allow) => void apply(allow)} />
      )}
    </section>
  );
}

function EntityDialog({ taken, onSave, onCancel }: { taken: string[]; onSave: (name: string, label: string) => void; onCancel: () => void }) {
  const { t } = useI18n();
  return (
    <NameLabelDialog title={t("design.addEntity")} testId="entity-dialog"
      testIds={{ name: "entity-name", label: "entity-label", submit: "entity-save", error: "entity-error" }}
      nameLabel={t("design.entityName")} nameHint={t("design.entityNameHint")} namePlaceholder="customer" labelLabel={t("design.entityLabel")}
      submitText={t("design.add")} cancelText={t("plan.cancel")}
      validate={(n) => (!NAME_RE.test(n) ? t("design.nameRule") : taken.includes(n) ? t("design.entityTaken") : null)}
      onSave={onSave} onCancel={onCancel} />
  );
}
