// Drag and drop for every editor, on @dnd-kit: pointer (mouse, pen), touch
// (a long press, so a swipe still scrolls) and keyboard (focus a handle,
// Space/Enter to lift, arrows to move, Space/Enter to drop, Escape to
// cancel). A screen declares sources (what is dragged, with its data), drop
// zones (a list) and drop rows (an item of a list at an index); DndArea says
// where a drop lands: over a row's upper half before it, over its lower
// half after it, over the empty part of a zone at its end.
import { useState, type CSSProperties, type ReactNode } from "react";
import {
  closestCenter, DndContext, DragOverlay, KeyboardSensor, PointerSensor, pointerWithin, TouchSensor, useDraggable,
  useDroppable, useSensor, useSensors, type Active, type CollisionDetection, type DragEndEvent, type DragMoveEvent,
  type Over,
} from "@dnd-kit/core";

// A place to drop: the zone's name and the index inserted at (undefined: at the end).
export interface DropAt {
  zone: string;
  at?: number;
}

interface RowData {
  zone: string;
  index?: number;
}

// The pointer when there is one, the dragged item's rect otherwise (keyboard).
const collision: CollisionDetection = (args) => {
  const hits = pointerWithin(args);
  return hits.length ? hits : closestCenter(args);
};

function pointerY(e: { activatorEvent: Event | null; delta: { y: number }; active: Active }): number | null {
  const a = e.activatorEvent as (Event & { clientY?: number; touches?: TouchList }) | null;
  if (a && typeof a.clientY === "number") return a.clientY + e.delta.y;
  if (a?.touches?.length) return a.touches[0].clientY + e.delta.y;
  const r = e.active.rect.current.translated;
  return r ? r.top + r.height / 2 : null;
}

// dropAt reads where an item over `over` lands.
export function dropAt(over: Over | null, y: number | null): DropAt | null {
  const d = over?.data.current as RowData | undefined;
  if (!over || !d) return null;
  if (d.index === undefined) return { zone: d.zone };
  const r = over.rect;
  const before = y !== null && r.height > 0 && y < r.top + r.height / 2;
  return { zone: d.zone, at: before ? d.index : d.index + 1 };
}

export function DndArea<T>({ children, onDrop, onOver, overlay }: {
  children: ReactNode;
  onDrop: (data: T, at: DropAt) => void;
  onOver?: (at: DropAt | null) => void;
  overlay?: (data: T) => ReactNode;
}) {
  const sensors = useSensors(
    useSensor(PointerSensor, { activationConstraint: { distance: 4 } }),
    useSensor(TouchSensor, { activationConstraint: { delay: 200, tolerance: 6 } }),
    useSensor(KeyboardSensor, { scrollBehavior: "auto" }), // instant, so quick presses add up
  );
  const [active, setActive] = useState<T | null>(null);
  const over = (e: DragMoveEvent) => onOver?.(dropAt(e.over, pointerY(e)));
  const end = (e: DragEndEvent) => {
    const data = e.active.data.current as T | undefined;
    const at = dropAt(e.over, pointerY(e));
    setActive(null);
    onOver?.(null);
    if (data !== undefined && at) onDrop(data, at);
  };
  return (
    <DndContext sensors={sensors} collisionDetection={collision}
      onDragStart={(e) => setActive((e.active.data.current as T) ?? null)}
      onDragMove={over} onDragOver={over} onDragEnd={end}
      onDragCancel={() => { setActive(null); onOver?.(null); }}>
      {children}
      <DragOverlay dropAnimation={null}>{active !== null && overlay ? <div className="drag-overlay">{overlay(active)}</div> : null}</DragOverlay>
    </DndContext>
  );
}

// useDragSource makes an element draggable: spread `handle` on what is
// grabbed (the element itself or a handle inside it), `ref` on the element.
export function useDragSource<T>(id: string, data: T, disabled = false) {
  const { setNodeRef, attributes, listeners, isDragging } = useDraggable({ id, data: data as Record<string, unknown>, disabled });
  return { ref: setNodeRef, handle: { ...attributes, ...listeners }, isDragging };
}

// useDropZone: a list that takes drops at its end.
export function useDropZone(zone: string) {
  const { setNodeRef, isOver } = useDroppable({ id: "zone:" + zone, data: { zone } satisfies RowData });
  return { ref: setNodeRef, isOver };
}

// useDropRow: an item of a list; drops land before or after it.
export function useDropRow(zone: string, index: number) {
  const { setNodeRef } = useDroppable({ id: `row:${zone}:${index}`, data: { zone, index } satisfies RowData });
  return setNodeRef;
}

// useDragRow: an item that is dragged and dropped on (a reorderable row).
export function useDragRow<T>(id: string, data: T, zone: string, index: number, disabled = false) {
  const src = useDragSource(id, data, disabled);
  const drop = useDropRow(zone, index);
  return { ...src, ref: (el: HTMLElement | null) => { src.ref(el); drop(el); } };
}

// PaletteItem: a button that is clicked (to append) or dragged.
export function PaletteItem<T>({ id, data, className, testId, title, onClick, children }: {
  id: string; data: T; className: string; testId: string; title?: string; onClick: () => void; children: ReactNode;
}) {
  const { ref, handle, isDragging } = useDragSource(id, data);
  return (
    <button ref={ref} type="button" className={className + (isDragging ? " is-dragging" : "")} data-testid={testId} title={title}
      {...handle} onClick={onClick}>
      {children}
    </button>
  );
}

// DropList: a <ul> zone that takes drops at its end.
export function DropList({ zone, className, testId, label, children }: {
  zone: string; className: string; testId: string; label?: string; children: ReactNode;
}) {
  const { ref } = useDropZone(zone);
  return <ul ref={ref} className={className} data-testid={testId} aria-label={label}>{children}</ul>;
}

// DragRow: an <li> of a DropList that is reordered by its handle (⋮⋮).
export function DragRow<T>({ id, data, zone, index, className, testId, dataId, onClick, handleLabel, disabled, style, children }: {
  id: string; data: T; zone: string; index: number; className: string; testId: string; dataId?: string;
  onClick?: () => void; handleLabel: string; disabled?: boolean; style?: CSSProperties; children: ReactNode;
}) {
  const { ref, handle, isDragging } = useDragRow(id, data, zone, index, disabled);
  return (
    <li ref={ref} className={className + (isDragging ? " is-dragging" : "")} data-testid={testId} data-id={dataId} onClick={onClick} style={style}>
      {!disabled && <span className="drag-handle" {...handle} aria-label={handleLabel}>⋮⋮</span>}
      {children}
    </li>
  );
}
