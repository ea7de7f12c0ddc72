// Lead grading: industry × budget × engagement. Kept in a hook (not only a
// formula) so the reason ("A / auto parts / ≥500k / 3 product-page visits")
// is stored next to the grade and searchable.
var INDUSTRY_WEIGHT = {auto_parts: 3, manufacturing: 3, software: 2, finance: 2, healthcare: 2, retail: 1, other: 0};
var INDUSTRY_LABEL = {auto_parts: "auto parts", manufacturing: "manufacturing", software: "software", finance: "finance", healthcare: "healthcare", retail: "retail", other: "other"};

function grade(record, ctx) {
  var i = INDUSTRY_WEIGHT[record.industry] || 0;
  var budget = record.budget || 0;
  var b = budget >= 500000 ? 3 : budget >= 100000 ? 2 : budget > 0 ? 1 : 0;
  var visits = record.page_visits || 0;
  var e = visits >= 3 ? 3 : visits >= 1 ? 1 : 0;
  var score = i + b + e;
  record.grade = score >= 7 ? "A" : score >= 4 ? "B" : "C";
  var band = budget >= 500000 ? "≥500k" : budget >= 100000 ? "≥100k" : "<100k";
  record.grade_reason = record.grade + " / " + (INDUSTRY_LABEL[record.industry] || "-") + " / " + band + " / " + visits + " product-page visits";
  // First contact stops the golden-4-hours countdown.
  if (ctx.changed.includes("status") && record.status !== "new" && !record.contacted_at) {
    record.contacted_at = now();
  }
  return record;
}

