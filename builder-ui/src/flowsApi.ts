// Flows at run time (CONTRACT-13's HTTP shapes): the transitions a caller
// may take on a record, taking one, and the approvals inbox with its
// decisions. A server without flows answers 404 on these routes: the
// screens read that as "no flow".
import { query, request } from "./api";
import type { FlowState, TransitionField } from "./designer/flows";

const seg = encodeURIComponent;

export interface Lack {
  path: string;
  message: string;
}

export interface TransitionOption {
  name: string;
  label?: string;
  labels?: Record<string, string>;
  to: string;
  allowed: boolean;
  lacks: Lack[] | null;
  fields: TransitionField[] | null;
  comment?: string; // none, optional (default), required
  approval: boolean;
  handover: boolean;
}

export interface PendingInfo {
  id: string;
  transition: string;
  kind: string;
  step: number;
  requester: string;
  requesterName?: string;
  createdAt: string;
}

export interface Available {
  flow: string;
  field: string;
  state: string;
  states: FlowState[];
  pending: PendingInfo | null;
  items: TransitionOption[] | null;
}

export interface StepApprover {
  userId: string;
  name?: string;
  decision?: string; // "", approved, rejected, delegated
  delegatedTo?: string;
  comment?: string;
  at?: string | null;
}

export interface StepView {
  name: string;
  label?: string;
  labels?: Record<string, string>;
  mode?: string;
  quorum?: number;
  status?: string;
  deadline?: string | null;
  approvers: StepApprover[] | null;
}

export interface ApprovalView {
  id: string;
  app: string;
  entity: string;
  recordId: string;
  title?: string;
  flow: string;
  transition: string;
  transitionLabel?: string;
  transitionLabels?: Record<string, string>;
  from: string;
  to: string;
  fromLabel?: string;
  fromLabels?: Record<string, string>;
  toLabel?: string;
  toLabels?: Record<string, string>;
  kind: "approval" | "handover";
  status: "pending" | "approved" | "rejected" | "withdrawn";
  requester: string;
  requesterName?: string;
  comment?: string;
  fields?: Record<string, unknown> | null;
  step: number;
  steps: StepView[] | null;
  version: number;
  canDecide: boolean;
  createdAt: string;
  decidedAt?: string | null;
}

export type InboxStatus = "pending" | "decided" | "mine";
export type Decision = "approve" | "reject" | "delegate" | "withdraw";

export const flowsApi = {
  transitions: (app: string, entity: string, id: string) =>
    request<Available>("GET", `/api/data/${seg(app)}/${seg(entity)}/${seg(id)}/transitions`),
  take: (app: string, entity: string, id: string, name: string, body: { version: number; fields: Record<string, unknown>; comment: string }) =>
    request<{ record?: Record<string, unknown>; approval?: ApprovalView }>("POST", `/api/data/${seg(app)}/${seg(entity)}/${seg(id)}/transitions/${seg(name)}`, body),
  inbox: (status: InboxStatus, p: { limit?: number; cursor?: string } = {}) =>
    request<{ items: ApprovalView[] | null; nextCursor?: string }>("GET", "/api/me/approvals" + query({ status, limit: p.limit, cursor: p.cursor })),
  decide: (id: string, action: Decision, body: { comment?: string; to?: string; version: number }) =>
    request<ApprovalView>("POST", `/api/approvals/${seg(id)}/${action}`, body),
};
