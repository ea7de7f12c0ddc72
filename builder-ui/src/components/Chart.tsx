// Charts of the Dashboards screen, drawn by Apache ECharts (its own chunk:
// only a dashboard with a chart loads it). Line and bar take one dimension
// (the x axis) and optionally a second (one series per value); pie and
// funnel one dimension. A click on a point, bar or slice opens its records.
// Colours are set per series (per slice) from a stable key, not left to
// ECharts' palette by position or derived from the label shown, so a chart
// looks the same in zh-CN and en.
import { useEffect, useRef } from "react";
// Only the charts, components and renderer used here: the full build is
// three times the size.
import * as echarts from "echarts/core";
import { BarChart, FunnelChart, LineChart, PieChart } from "echarts/charts";
import { GridComponent, LegendComponent, TooltipComponent } from "echarts/components";
import { SVGRenderer } from "echarts/renderers";
import type { EChartsOption, SeriesOption } from "echarts";

echarts.use([BarChart, LineChart, PieChart, FunnelChart, GridComponent, TooltipComponent, LegendComponent, SVGRenderer]);
import type { DashResult, DashRow, Widget } from "../api";
import type { Lang } from "../i18n";
import { formatNumber, seriesColors, seriesKey } from "./Dashboard";

export interface ChartProps {
  widget: Widget;
  r: DashResult;
  lang: Lang;
  labelOf: (row: DashRow, i: number) => string;
  onDrill: (row: DashRow) => void;
}

type Measure = DashResult["columns"][number];

// sameScale: two measures share an axis when they have the same unit and
// currency (a count and a sum of money do not).
function sameScale(a: Measure, b: Measure | undefined): boolean {
  return (a.unit ?? "") === (b?.unit ?? "") && (a.currency ?? "") === (b?.currency ?? "");
}

// chartOption builds the ECharts option and, per series and data index, the
// row a click opens.
export function chartOption({ widget, r, lang, labelOf }: ChartProps): { option: EChartsOption; rows: DashRow[][] } {
  const measures = r.columns.filter((c) => c.kind === "measure");
  const dims = r.columns.filter((c) => c.kind === "dimension");
  const num = (v: unknown) => (v === null || v === undefined ? null : Number(v));
  const tooltip = { trigger: "item" as const, valueFormatter: (v: unknown) => formatNumber(v, lang, measures[0]?.unit, measures[0]?.currency) };
  if (widget.type === "pie" || widget.type === "funnel") {
    const colors = seriesColors(r.rows.map((row) => seriesKey(row, 0)));
    const data = r.rows.map((row) => ({ name: labelOf(row, 0), value: num(row.values[0]), itemStyle: { color: colors.get(seriesKey(row, 0)) } }));
    return {
      // A funnel keeps the rows' order (its stages); ECharts would sort by value.
      option: { tooltip, series: [{ type: widget.type, data, radius: widget.type === "pie" ? ["35%", "70%"] : undefined,
        ...(widget.type === "funnel" ? { sort: "none" } : {}) }] as SeriesOption[] },
      rows: [r.rows],
    };
  }
  // Categories: the first dimension's values in answer order.
  const cats: string[] = [];
  const catIndex = new Map<string, number>();
  for (const row of r.rows) {
    const c = labelOf(row, 0);
    if (!catIndex.has(c)) {
      catIndex.set(c, cats.length);
      cats.push(c);
    }
  }
  const series: SeriesOption[] = [];
  const rows: DashRow[][] = [];
  const type = widget.type === "line" ? "line" : "bar";
  const stack = widget.stacked ? "total" : undefined;
  if (dims.length > 1) {
    // One series per raw value of the second dimension, named by its label.
    const bySeries = new Map<string, { name: string; list: DashRow[] }>();
    for (const row of r.rows) {
      const k = seriesKey(row, 1);
      if (!bySeries.has(k)) bySeries.set(k, { name: labelOf(row, 1), list: [] });
      bySeries.get(k)!.list.push(row);
    }
    const colors = seriesColors([...bySeries.keys()]);
    for (const [key, { name, list }] of bySeries) {
      const data: (number | null)[] = cats.map(() => null);
      const at: DashRow[] = [];
      for (const row of list) {
        const i = catIndex.get(labelOf(row, 0))!;
        data[i] = num(row.values[0]);
        at[i] = row;
      }
      const color = colors.get(key);
      series.push({ type, name, data, stack, itemStyle: { color }, lineStyle: { color } } as SeriesOption);
      rows.push(at);
    }
  } else {
    const colors = seriesColors(measures.map((m) => m.name));
    measures.forEach((m, mi) => {
      const name = m.label || m.name;
      const color = colors.get(m.name);
      const axis = sameScale(m, measures[0]) ? 0 : 1;
      series.push({ type, name, data: r.rows.map((row) => num(row.values[mi])), stack: axis ? undefined : stack,
        ...(widget.horizontal ? { xAxisIndex: axis } : { yAxisIndex: axis }),
        tooltip: { valueFormatter: (v: unknown) => formatNumber(v, lang, m.unit, m.currency) },
        itemStyle: { color }, lineStyle: { color } } as SeriesOption);
      rows.push(r.rows);
    });
  }
  const cat = { type: "category" as const, data: cats };
  const valAxis = () => ({ type: "value" as const, axisLabel: { formatter: (v: number) => formatNumber(v, lang) } });
  // Measures of another unit (orders next to takings in CNY) get their own
  // axis: on the first one's scale they would lie flat at zero.
  const second = dims.length > 1 ? undefined : measures.find((m) => !sameScale(m, measures[0]));
  const val = second ? [valAxis(), { ...valAxis(), splitLine: { show: false } }] : valAxis();
  return {
    option: {
      tooltip: { ...tooltip, trigger: "axis" },
      legend: series.length > 1 ? { type: "scroll", bottom: 0 } : undefined,
      grid: { left: 8, right: 8, top: second ? 28 : 16, bottom: series.length > 1 ? 32 : 8, containLabel: true },
      xAxis: widget.horizontal ? val : cat,
      yAxis: widget.horizontal ? { ...cat, inverse: true } : val,
      series,
    },
    rows,
  };
}

export function Chart(props: ChartProps) {
  const el = useRef<HTMLDivElement>(null);
  const { option, rows } = chartOption(props);
  useEffect(() => {
    if (!el.current) return;
    let chart: echarts.EChartsType;
    try {
      chart = echarts.init(el.current, undefined, { renderer: "svg" });
    } catch {
      return; // no layout (tests)
    }
    chart.setOption(option);
    chart.on("click", (p) => {
      const row = rows[p.seriesIndex ?? 0]?.[p.dataIndex];
      if (row) props.onDrill(row);
    });
    const ro = typeof ResizeObserver === "undefined" ? null : new ResizeObserver(() => chart.resize());
    ro?.observe(el.current);
    return () => {
      ro?.disconnect();
      chart.dispose();
    };
  });
  return <div ref={el} className="dash-chart" data-testid="chart" />;
}
