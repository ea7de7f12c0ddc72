// The template gallery of the home page. Until the templates issue fills it,
// it holds the bundled sample app (a copy of schema/testdata/pipeline.json,
// kept identical by templates.test.ts), installed with POST /api/meta/apps
// like any document. Each template is its own chunk, loaded on install.
import type { MessageKey } from "../i18n";

export interface Template {
  name: string; // the app name it installs
  title: MessageKey;
  description: MessageKey;
  load: () => Promise<unknown>;
}

export const TEMPLATES: Template[] = [
  {
    name: "pipeline",
    title: "templates.pipeline.title",
    description: "templates.pipeline.description",
    load: () => import("./pipeline.json").then((m) => m.default),
  },
];
