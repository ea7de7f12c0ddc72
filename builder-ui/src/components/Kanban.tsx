// The kanban board: an entity's records (under the current filter) in a
// column per option of a select field, plus one for no value. Dragging a
// card to another column (pointer, touch or keyboard, @dnd-kit) is a PATCH
// of that field with the record's version; a refused move (403, 409, 422)
// puts the card back and says why.
import { useEffect, useState, type ReactNode } from "react";
import {
  closestCenter, DndContext, DragOverlay, KeyboardSensor, PointerSensor, pointerWithin, TouchSensor, useDraggable,
  useDroppable, useSensor, useSensors, type CollisionDetection, type DragEndEvent, type KeyboardCoordinateGetter,
} from "@dnd-kit/core";
import { api, ApiError, type AppDocument, type DataRecord, type Entity, type Field } from "../api";
import { displayValue, fieldLabel, labelField } from "../fields";
import { useI18n } from "../i18n";
import { flowStates, optionLabel } from "../labels";
import { useNames } from "../names";
import { navigate } from "../router";
import { ErrorBox, errorText, Loading } from "./common";

export const BOARD_LIMIT = 500;
const NONE = "\u0000none";

const collision: CollisionDetection = (args) => {
  const hits = pointerWithin(args);
  return hits.length ? hits : closestCenter(args);
};

// columnJump: with the keyboard, ← and → move a lifted card to the centre of
// the previous or next column (the board scrolls along, at once rather than
// smoothly, so quick presses add up).
export const columnJump: KeyboardCoordinateGetter = (event, { context: { droppableRects, collisionRect }, currentCoordinates }) => {
  if (!collisionRect || (event.code !== "ArrowRight" && event.code !== "ArrowLeft")) return undefined;
  event.preventDefault();
  const cx = collisionRect.left + collisionRect.width / 2;
  const centres = [...droppableRects.values()].map((r) => r.left + r.width / 2).sort((a, b) => a - b);
  const target = event.code === "ArrowRight" ? centres.find((c) => c > cx + 1) : [...centres].reverse().find((c) => c < cx - 1);
  return target === undefined ? undefined : { x: currentCoordinates.x + (target - cx), y: currentCoordinates.y };
};

// moveError says why a move was refused, with the field's label where the server named it.
function moveError(e: unknown, field: Field, t: ReturnType<typeof useI18n>["t"]): string {
  if (e instanceof ApiError) {
    if (e.status === 409) return t("kanban.conflict");
    if (e.status === 403) return t("kanban.forbidden");
    const d = e.details.find((x) => x.path === "/" + field.name) ?? e.details[0];
    if (d) return t("kanban.refused", { message: d.message });
  }
  return errorText(e, t);
}

export function Kanban({ app, entity, field, filter, sort }: { app: AppDocument; entity: Entity; field: Field; filter: string; sort: string }) {
  const i18n = useI18n();
  const { t, lang } = i18n;
  const [items, setItems] = useState<DataRecord[] | null>(null);
  const [more, setMore] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [moveErr, setMoveErr] = useState<string | null>(null);
  const [attempt, setAttempt] = useState(0);
  const [active, setActive] = useState<DataRecord | null>(null);
  const sensors = useSensors(
    useSensor(PointerSensor, { activationConstraint: { distance: 4 } }),
    useSensor(TouchSensor, { activationConstraint: { delay: 200, tolerance: 6 } }),
    useSensor(KeyboardSensor, { coordinateGetter: columnJump, scrollBehavior: "auto" }),
  );

  useEffect(() => {
    let live = true;
    setError(null);
    api.list(app.name, entity.name, { filter, sort, limit: BOARD_LIMIT }).then(
      (r) => {
        if (!live) return;
        setItems(r.items ?? []);
        setMore(!!r.nextCursor);
      },
      (e) => live && setError(e),
    );
    return () => {
      live = false;
    };
  }, [app.name, entity.name, filter, sort, attempt]);

  const title = labelField(entity);
  const shown = entity.fields.filter((f) => f.name !== field.name && f.name !== title?.name && !["json", "longtext"].includes(f.type)).slice(0, 3);
  const names = useNames(app, (items ?? []).flatMap((r) => shown.filter((f) => f.type === "user" || f.type === "ref").map((f) =>
    f.type === "user" ? { kind: "user" as const, id: String(r[f.name] ?? "") } : { kind: "ref" as const, entity: f.entity ?? "", id: String(r[f.name] ?? "") })));
  const show = (f: Field, v: unknown) => {
    if ((f.type === "user" || f.type === "ref") && typeof v === "string" && v)
      return names(f.type === "user" ? { kind: "user", id: v } : { kind: "ref", entity: f.entity ?? "", id: v });
    return displayValue(f, v, i18n, f.type === "select" ? flowStates(app, entity.name, f.name) : undefined);
  };

  async function move(r: DataRecord, to: string) {
    const value = to === NONE ? null : to;
    if ((r[field.name] ?? null) === value) return;
    setMoveErr(null);
    const before = items;
    // Moved at once; put back if the server refuses.
    setItems((xs) => xs?.map((x) => (x.id === r.id ? { ...x, [field.name]: value } : x)) ?? xs);
    try {
      const saved = await api.update(app.name, entity.name, r.id, { [field.name]: value, version: r.version });
      setItems((xs) => xs?.map((x) => (x.id === r.id ? { ...x, ...saved } : x)) ?? xs);
    } catch (e) {
      setItems(before);
      setMoveErr(moveError(e, field, t));
    }
  }

  function end(e: DragEndEvent) {
    setActive(null);
    const r = e.active.data.current as DataRecord | undefined;
    const to = e.over?.data.current?.column as string | undefined;
    if (r && to !== undefined) void move(r, to);
  }

  if (error) return <ErrorBox error={error} testId="list-error" onRetry={() => setAttempt((a) => a + 1)} />;
  if (!items) return <Loading />;
  const columns = [...(field.options ?? []), NONE];
  // Columns are headed by the option's label in the user's language (a flow's state field: its states').
  const states = flowStates(app, entity.name, field.name);
  const cardTitle = (r: DataRecord) => (title ? displayValue(title, r[title.name], i18n) : r.id);

  return (
    <>
      {moveErr && <div className="alert alert-error" role="alert" data-testid="kanban-error">{moveErr}</div>}
      {more && <p className="muted small" data-testid="kanban-more">{t("kanban.more", { n: BOARD_LIMIT })}</p>}
      <div className="kanban-wrap">
      <DndContext sensors={sensors} collisionDetection={collision}
        onDragStart={(e) => setActive((e.active.data.current as DataRecord) ?? null)} onDragEnd={end} onDragCancel={() => setActive(null)}>
        <div className="kanban" data-testid="kanban">
          {columns.map((c) => {
            const cards = items.filter((r) => (c === NONE ? r[field.name] === null || r[field.name] === undefined || r[field.name] === "" : r[field.name] === c));
            return (
              <Column key={c} id={c} label={c === NONE ? t("kanban.none") : optionLabel(field, c, lang, states)} count={cards.length}>
                {cards.map((r) => (
                  <Card key={r.id} r={r} onOpen={() => navigate({ name: "record", app: app.name, entity: entity.name, id: r.id })}>
                    <strong className="kanban-title">{cardTitle(r)}</strong>
                    {shown.map((f) => (r[f.name] !== null && r[f.name] !== undefined && r[f.name] !== "") && (
                      <span key={f.name} className="kanban-field"><span className="muted small">{fieldLabel(f, lang)}</span> {show(f, r[f.name])}</span>
                    ))}
                  </Card>
                ))}
                {cards.length === 0 && <p className="muted small kanban-empty">{t("kanban.dropHere")}</p>}
              </Column>
            );
          })}
        </div>
        <DragOverlay dropAnimation={null}>{active ? <div className="kanban-card drag-overlay"><strong>{cardTitle(active)}</strong></div> : null}</DragOverlay>
      </DndContext>
      </div>
    </>
  );
}

function Column({ id, label, count, children }: { id: string; label: string; count: number; children: ReactNode }) {
  const { setNodeRef, isOver } = useDroppable({ id: "col:" + id, data: { column: id } });
  const test = id === NONE ? "none" : id;
  return (
    <section ref={setNodeRef} className={"kanban-col" + (isOver ? " is-over" : "")} data-testid={`kanban-col-${test}`} aria-label={label}>
      <h2 className="kanban-col-head">{label} <span className="muted small">{count}</span></h2>
      <div className="kanban-cards">{children}</div>
    </section>
  );
}

function Card({ r, onOpen, children }: { r: DataRecord; onOpen: () => void; children: ReactNode }) {
  const { t } = useI18n();
  const { setNodeRef, attributes, listeners, isDragging } = useDraggable({ id: "card:" + r.id, data: r });
  return (
    <div ref={setNodeRef} className={"kanban-card card" + (isDragging ? " is-dragging" : "")} data-testid="kanban-card" data-id={r.id}
      {...attributes} {...listeners} aria-roledescription={t("kanban.card")}
      onClick={onOpen} onKeyDown={(e) => {
        if (e.key === "o" || e.key === "O") onOpen();
        listeners?.onKeyDown?.(e);
      }}>
      {children}
    </div>
  );
}
