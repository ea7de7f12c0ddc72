// Labels in the user's language for what an app document names: apps,
// entities, fields, dashboards and flow states carry a label (the fallback)
// and labels per language; select and multiselect fields carry
// optionLabels (option value → language → label). The runtime screens show
// these; values stay the option values. Dashboard widgets carry a title
// and titles per language the same way (titleIn).
export type Labels = Partial<Record<string, string>>;

export interface Labelled {
  name?: string;
  label?: string;
  labels?: Labels;
}

// labelIn is a label in the user's language: labels[lang], else label,
// else the name.
export function labelIn(x: Labelled, lang: string): string {
  return x.labels?.[lang] || x.label || x.name || "";
}

export interface Titled {
  id?: string;
  title?: string;
  titles?: Labels;
}

// titleIn is a dashboard widget's title in the user's language:
// titles[lang], else title, else the widget's id.
export function titleIn(w: Titled, lang: string): string {
  return w.titles?.[lang] || w.title || w.id || "";
}

export interface StateLike {
  name: string;
  label?: string;
  labels?: Labels;
}

export interface Optioned {
  name?: string;
  optionLabels?: Record<string, Labels>;
}

// optionLabel is how an option of a select field reads in lang: its
// optionLabels, else (for a flow's state field) the state's labels, else
// the value itself.
export function optionLabel(f: Optioned | undefined, value: unknown, lang: string, states?: StateLike[]): string {
  const v = value === null || value === undefined ? "" : String(value);
  const own = f?.optionLabels?.[v]?.[lang];
  if (own) return own;
  const s = states?.find((x) => x.name === v);
  if (s && (s.labels?.[lang] || s.label)) return (s.labels?.[lang] || s.label)!;
  return v;
}

// flowStates are the states of the flow over an entity's field in an app
// document (the document's "flows" section), or undefined when none.
export function flowStates(doc: unknown, entity: string | undefined, field: string | undefined): StateLike[] | undefined {
  const flows = (doc as { flows?: unknown } | null | undefined)?.flows;
  if (!Array.isArray(flows) || !entity || !field) return undefined;
  const flow = (flows as { entity?: string; field?: string; states?: StateLike[] }[])
    .find((x) => x && x.entity === entity && x.field === field && Array.isArray(x.states));
  return flow?.states;
}
