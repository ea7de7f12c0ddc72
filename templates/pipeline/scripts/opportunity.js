// Typical sales cycle in days per industry: a deal whose age exceeds it by
// more than 15 % is drifting (shown red). Run daily by the "drift_check"
// schedule automation, because age depends on today, not on a write.
var TYPICAL_DAYS = {auto_parts: 90, manufacturing: 120, software: 60, finance: 150, healthcare: 180, retail: 45, other: 90};

function typicalCycle(record) {
  return TYPICAL_DAYS[record.industry] || 90;
}

function drift(record, ctx) {
  var started = record.created_at ? record.created_at.substring(0, 10) : today();
  var age = daysBetween(started, today());
  var limit = typicalCycle(record) * 1.15;
  return {age_days: age, drifting: age > limit};
}

// The close date is kept when the deal is decided, so forecast accuracy can
// compare what was expected with what happened.
function beforeSave(record, ctx) {
  if (ctx.changed.includes("stage") && (record.stage === "won" || record.stage === "lost") && !record.closed_on) {
    record.closed_on = today();
  }
  return record;
}
