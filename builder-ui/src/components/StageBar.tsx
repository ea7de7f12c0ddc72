// The record's stage bar: its flow's states in order, the current one
// highlighted in its colour, final states marked. On a phone the bar
// wraps rather than scrolls sideways.
import type { FlowState } from "../designer/flows";
import { shown } from "../designer/flows";
import { useI18n } from "../i18n";

export function StageBar({ states, current }: { states: FlowState[]; current: string }) {
  const { t, lang } = useI18n();
  const at = states.findIndex((s) => s.name === current);
  return (
    <ol className="stage-bar" data-testid="stage-bar" aria-label={t("run.stages")}>
      {states.map((s, i) => {
        const now = i === at;
        const color = s.color || "#718096";
        return (
          <li key={s.name} className={"stage" + (now ? " current" : "") + (at >= 0 && i < at ? " before" : "") + (s.final ? " final" : "")}
            data-testid={`stage-${s.name}`} aria-current={now ? "step" : undefined}
            style={now ? { background: color, borderColor: color } : { borderColor: color }}>
            <span className="stage-label">{shown(s, lang)}</span>
            {s.final && <span className="stage-final" title={t("run.finalState")} aria-label={t("run.finalState")}>⚑</span>}
          </li>
        );
      })}
    </ol>
  );
}
