// The flow editor's canvas (@xyflow/react): states as nodes (label, colour,
// initial and final markers, problems in red), transitions as edges (one
// per from-state; from "any state" dashed). Dragging from a state's handle
// onto another state — or tapping one handle then the other, for touch —
// adds a transition; nodes are moved by pointer, touch or the arrow keys
// (Tab to a node, Enter selects it) and their places are saved in
// state.position; Delete removes what is selected.
import { useEffect, useMemo, useRef, useState, type KeyboardEvent } from "react";
import {
  applyNodeChanges, Background, Controls, Handle, MarkerType, Position, ReactFlow, useEdgesState, useNodesState,
  type Connection, type Edge, type Node, type NodeChange, type NodeProps, type ReactFlowInstance,
} from "@xyflow/react";
import "@xyflow/react/dist/style.css";
import { edgesOf, gridPosition, initialState, nodeId, shown, stateIndexOf, transitionIndexOf, type Flow } from "../designer/flows";
import { useI18n } from "../i18n";

export type Selection = { kind: "state"; index: number } | { kind: "transition"; index: number } | null;

type StateData = { label: string; name: string; color: string; final: boolean; initial: boolean; problems: string[] };
type StateNode = Node<StateData, "state">;

function StateNodeView({ data, selected }: NodeProps<StateNode>) {
  const { t } = useI18n();
  return (
    <div className={"flow-node" + (selected ? " selected" : "") + (data.problems.length ? " has-error" : "") + (data.final ? " final" : "")}
      style={{ borderColor: data.color }} data-testid={`flow-node-${data.name}`} title={data.problems.join("\n") || undefined}>
      <Handle type="target" position={Position.Left} className="flow-handle" />
      <span className="flow-node-dot" style={{ background: data.color }} aria-hidden="true" />
      <span className="flow-node-label">{data.label}</span>
      {data.initial && <span className="tag flow-tag" data-testid={`flow-node-initial-${data.name}`}>{t("flow.initialTag")}</span>}
      {data.final && <span className="tag flow-tag" data-testid={`flow-node-final-${data.name}`}>{t("flow.finalTag")}</span>}
      {data.problems.length > 0 && <span className="flow-node-error" role="alert" data-testid={`flow-node-error-${data.name}`}>{data.problems[0]}</span>}
      <Handle type="source" position={Position.Right} className="flow-handle" />
    </div>
  );
}

const nodeTypes = { state: StateNodeView };
function measuredNode(n: StateNode, measured: NonNullable<StateNode["measured"]>): StateNode {
  const { handles: _guess, ...rest } = n;
  void _guess;
  return { ...rest, measured };
}

const HANDLES = [
  { id: null, type: "target" as const, position: Position.Left, x: -7, y: 15, width: 14, height: 14 },
  { id: null, type: "source" as const, position: Position.Right, x: 153, y: 15, width: 14, height: 14 },
];

export function FlowCanvas({ flow, selection, problems, onSelect, onConnect, onMove, onDelete }: {
  flow: Flow; selection: Selection; problems: Map<string, string[]>;
  onSelect: (s: Selection) => void;
  onConnect: (from: string, to: string) => void;
  onMove: (positions: Map<number, { x: number; y: number }>) => void;
  onDelete: (states: number[], edges: string[]) => void;
}) {
  const { t, lang } = useI18n();
  const init = initialState(flow);
  const built = useMemo(() => flow.states.map((s, i): StateNode => ({
    id: nodeId(i), type: "state", position: s.position ?? gridPosition(i),
    // A first size and handle places, so edges are drawn before the browser measures (and where it cannot).
    initialWidth: 160, initialHeight: 44, handles: HANDLES,
    selected: selection?.kind === "state" && selection.index === i,
    ariaLabel: t("flow.nodeAria", { state: shown(s, lang) }),
    data: { label: shown(s, lang), name: s.name, color: s.color || "#718096", final: !!s.final, initial: s.name === init, problems: problems.get(nodeId(i)) ?? [] },
  })), [flow.states, selection, problems, init, lang, t]);
  const builtEdges = useMemo(() => edgesOf(flow).map((e): Edge => {
    const tr = flow.transitions[e.ti];
    const bad = problems.get(e.id);
    const label = (bad ? "⚠ " : "") + shown(tr, lang) + (tr.approval?.steps?.length ? " ✓" : "") + (tr.handover ? " ⇄" : "");
    return {
      id: e.id, source: e.source, target: e.target, label,
      selected: selection?.kind === "transition" && selection.index === e.ti,
      className: "flow-edge" + (bad ? " has-error" : "") + (e.any ? " any" : ""),
      markerEnd: { type: MarkerType.ArrowClosed },
      ariaLabel: t("flow.edgeAria", { transition: shown(tr, lang) }) + (bad ? " — " + bad.join(" ") : ""),
      domAttributes: { "data-testid": `flow-edge-${tr.name}` } as never,
      style: bad ? { stroke: "var(--danger, #c53030)", strokeWidth: 2 } : e.any ? { strokeDasharray: "5 4" } : undefined,
      labelStyle: bad ? { fill: "var(--danger, #c53030)" } : undefined,
    };
  }), [flow, selection, problems, lang, t]);

  const [nodes, setNodes] = useNodesState<StateNode>(built);
  const [edges, setEdges, onEdgesChange] = useEdgesState<Edge>(builtEdges);
  // Rebuilt from the document on every change; the sizes the browser measured are kept.
  useEffect(() => setNodes((prev) => built.map((n) => {
    const p = prev.find((x) => x.id === n.id);
    return p?.measured ? measuredNode(n, p.measured) : n;
  })), [built, setNodes]);
  useEffect(() => setEdges(builtEdges), [builtEdges, setEdges]);

  // States added or removed: the whole flow is brought into view again.
  const [rf, setRf] = useState<ReactFlowInstance<StateNode, Edge> | null>(null);
  const count = flow.states.length;
  useEffect(() => {
    if (!rf) return;
    const h = setTimeout(() => void rf.fitView({ maxZoom: 1.2 }), 60);
    return () => clearTimeout(h);
  }, [rf, count]);

  // New states are fitted once the browser has measured them.
  const fitted = useRef(count);

  // A finished move (end of a drag, an arrow key) is saved in the document.
  function nodesChanged(changes: NodeChange<StateNode>[]) {
    // Once measured, a node's handles are where the browser drew them (the first guess is dropped in the same update).
    setNodes((ns) => {
      const next = applyNodeChanges(changes, ns).map((n) => (n.measured && n.handles ? measuredNode(n, n.measured) : n));
      if (rf && fitted.current !== count && next.length === count && next.every((n) => n.measured?.width)) {
        fitted.current = count;
        requestAnimationFrame(() => void rf.fitView({ maxZoom: 1.2 }));
      }
      return next;
    });
    const moved = new Map<number, { x: number; y: number }>();
    for (const c of changes) {
      if (c.type === "position" && c.position && !c.dragging) moved.set(stateIndexOf(c.id), { x: Math.round(c.position.x), y: Math.round(c.position.y) });
    }
    if (moved.size) onMove(moved);
  }

  function connect(c: Connection) {
    const from = flow.states[stateIndexOf(c.source)];
    const to = flow.states[stateIndexOf(c.target)];
    if (from && to && from.name !== to.name) onConnect(from.name, to.name);
  }

  // Enter or Space on a focused state or transition (Tab reaches them) opens it in the panel.
  function keyed(e: KeyboardEvent<HTMLDivElement>) {
    if (e.key !== "Enter" && e.key !== " ") return;
    const el = (e.target as Element).closest?.(".react-flow__node, .react-flow__edge");
    const id = el?.getAttribute("data-id") ?? "";
    if (stateIndexOf(id) >= 0) onSelect({ kind: "state", index: stateIndexOf(id) });
    else if (transitionIndexOf(id) >= 0) onSelect({ kind: "transition", index: transitionIndexOf(id) });
  }

  return (
    <div className="flow-canvas" data-testid="flow-canvas" onKeyDown={keyed}>
      <ReactFlow<StateNode, Edge> nodes={nodes} edges={edges} nodeTypes={nodeTypes} onNodesChange={nodesChanged} onEdgesChange={onEdgesChange}
        onConnect={connect} onInit={setRf} deleteKeyCode={["Delete", "Backspace"]} fitView fitViewOptions={{ maxZoom: 1.2 }} minZoom={0.3}
        onNodeDragStop={(_e, _n, dragged) => onMove(new Map(dragged.map((n) => [stateIndexOf(n.id), { x: Math.round(n.position.x), y: Math.round(n.position.y) }])))}
        onNodeClick={(e, n) => {
          // A tap on a handle is the start or end of a connection, not a choice of state.
          if (!(e.target as Element).closest?.(".react-flow__handle")) onSelect({ kind: "state", index: stateIndexOf(n.id) });
        }}
        onEdgeClick={(_e, ed) => onSelect({ kind: "transition", index: transitionIndexOf(ed.id) })}
        onPaneClick={() => onSelect(null)}
        onDelete={({ nodes: ns, edges: es }) => onDelete(ns.map((n) => stateIndexOf(n.id)), es.map((e) => e.id))}
        ariaLabelConfig={{
          "node.a11yDescription.default": t("flow.a11yNode"),
          "edge.a11yDescription.default": t("flow.a11yEdge"),
          "controls.zoomIn.ariaLabel": t("flow.zoomIn"),
          "controls.zoomOut.ariaLabel": t("flow.zoomOut"),
          "controls.fitView.ariaLabel": t("flow.fitView"),
          "handle.ariaLabel": t("flow.handle"),
        }}>
        <Background />
        <Controls showInteractive={false} />
      </ReactFlow>
    </div>
  );
}
